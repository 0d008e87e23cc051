"""The embedded procedural scenes as a dense data set: image, exact depth, exact normals and semantics.

Wraps ``dense.scenes.SceneSet`` (fixed seeds per split) into samples of the training-batch layout, so the same
batch feeds segmentation, depth and normal probes (the joint run) and the probes can be checked without any
download.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from dense.datasets.geo_common import clean_depth, clean_normals, image_to_tensor


class SceneDenseDataset(Dataset):
    """Embedded scenes with ``image``, ``depth``, ``normals``, ``seg`` and ``meta``.

    Args:
        split: ``'train'``, ``'val'`` or ``'test'``.
        size: rendered ``(H, W)``.
        num: number of scenes (None: the split's default).
    """

    def __init__(self, split: str = 'train', size: tuple[int, int] = (64, 64), num: int | None = None):
        from dense.scenes import SceneSet  # the renderer is only needed when this data set is used
        self.scenes = SceneSet(split=split, size=tuple(size), num=num)
        self.split = split
        self._cache: dict[int, dict] = {}

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, index: int) -> dict:
        if index not in self._cache:  # rendering is deterministic; keep the (small) samples
            scene = self.scenes[index]
            depth = clean_depth(scene.depth)
            self._cache[index] = {
                'image': image_to_tensor(np.asarray(scene.image)),
                'depth': depth,
                'normals': clean_normals(np.transpose(scene.normals, (2, 0, 1)), depth),
                'seg': torch.from_numpy(np.asarray(scene.semantic, dtype=np.int64)),
                'meta': {'img_path': f'scenes/{self.split}/{index}', 'ori_shape': tuple(depth.shape)},
            }
        return self._cache[index]
