"""The embedded synthetic scenes (``dense.scenes``) as a data set with segmentation, depth and normals."""
from __future__ import annotations

from torch.utils.data import Dataset

from dense.datasets.segmentation import finish_sample
from dense.scenes.batch import scene_sample


class ScenesDataset(Dataset):
    """``dense.scenes.SceneSet`` samples: image, ``seg`` (class ids), ``depth`` (metres), ``normals``.

    Args:
        split: ``'train'``, ``'val'`` or ``'test'`` (fixed seeds per split).
        size: Rendered image size ``(H, W)``.
        num: Number of scenes (None = the split's default).
        augment: Training augmentation options, or None.
        cache: Keep each rendered scene in memory after its first use (about 20 bytes a pixel), so epochs after
            the first cost no rendering.
    """

    def __init__(self, split: str = 'train', size: tuple[int, int] = (64, 64), num: int | None = None,
                 augment: dict | None = None, cache: bool = True):
        from dense.scenes import CLASS_NAMES, SceneSet
        self.scenes = SceneSet(split=split, size=tuple(size), num=num)
        if len(self.scenes) == 0:
            raise ValueError(f'scenes: the {split} split is empty (num={num})')
        self.class_names = list(CLASS_NAMES)
        self.num_classes = len(self.class_names)
        self.split = split
        self.augment = augment
        self._cache = {} if cache else None

    @property
    def metainfo(self) -> dict:
        """Class names, as mmengine reads them."""
        return dict(classes=tuple(self.class_names))

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, index: int) -> dict:
        scene = self._cache.get(index) if self._cache is not None else None
        if scene is None:
            scene = self.scenes[index]
            if self._cache is not None:
                self._cache[index] = scene
        return finish_sample(scene_sample(scene, f'scenes/{self.split}/{index}'), self.augment, None)
