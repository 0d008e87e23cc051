"""Your own segmentation data: a folder of images, a folder of masks with the same file names, a class list.

    <img_dir>/<name>.jpg      (any of dense.extract.IMAGE_SUFFIXES; subfolders allowed, mirrored in ann_dir)
    <ann_dir>/<name>.png      single-channel PNG (grey or palette), pixel value = class index, 255 = ignore

The layout is mmseg's ``BaseSegDataset`` (``img_dir`` / ``ann_dir`` pairs matched by name, optional split file of
names, ``reduce_zero_label`` when 0 means "unlabelled"); loading, label checks and augmentation are the ones every
data set here uses (``dense.datasets.segmentation.finish_sample``), so the samples follow the batch contract.
Class names key the per-class metrics (``IoU.<name>``) and ``palette`` colours figures and predicted PNGs.
Registered as ``type='seg_custom'`` (see docs/usage.md for a config).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from dense.datasets.common import check_same_size, check_seg_label, load_label
from dense.datasets.segmentation import finish_sample, reduce_zero_label
from dense.extract import IMAGE_SUFFIXES, load_image


def _pairs(img_dir: Path, ann_dir: Path, split_file: Path | None, seg_suffix: str) -> list[tuple[Path, Path]]:
    """``(image, mask)`` pairs: every image under ``img_dir`` (or the names listed in ``split_file``) with the
    mask of the same relative name; a missing mask is an error naming it."""
    for folder in (img_dir, ann_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f'{folder}: directory not found (seg_custom needs img_dir and ann_dir)')
    images = {p.relative_to(img_dir).with_suffix('').as_posix(): p for p in sorted(img_dir.rglob('*'))
              if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()}
    if split_file is not None:
        if not Path(split_file).is_file():
            raise FileNotFoundError(f'{split_file}: split file not found')
        names = [line.strip() for line in Path(split_file).read_text().splitlines() if line.strip()]
        unknown = [n for n in names if n not in images]
        if unknown:
            raise FileNotFoundError(f'{split_file}: lists {unknown[0]!r}, which has no image in {img_dir}')
        images = {n: images[n] for n in names}
    if not images:
        raise ValueError(f'{img_dir}: no images ({", ".join(IMAGE_SUFFIXES)})')
    pairs = []
    for name, image in images.items():
        mask = ann_dir / f'{name}{seg_suffix}'
        if not mask.is_file():
            raise FileNotFoundError(f'{mask}: mask of {image} not found (masks share the image names, '
                                    f'suffix {seg_suffix!r})')
        pairs.append((image, mask))
    return pairs


class CustomSegDataset(Dataset):
    """Image / mask folders with a class list.

    Args:
        img_dir: Folder of images.
        ann_dir: Folder of masks (same relative names, ``seg_suffix``).
        classes: Class names, index = mask value.
        palette: ``[[r, g, b], ...]`` per class (default: the PASCAL VOC colour map).
        split_file: Optional text file of image names (relative, without suffix), one per line.
        seg_suffix: Mask file suffix.
        reduce_zero_label: Masks use 0 for "unlabelled" and 1..K for the classes (ADE20K style).
        augment: Training augmentation (``dense.datasets.common.augment`` options), or None.
        image_resize: Evaluation resize of the image alone (int short side or ``(H, W)``).
    """

    def __init__(self, img_dir: str, ann_dir: str, classes: list[str] | tuple[str, ...],
                 palette: list | None = None, split_file: str | None = None, seg_suffix: str = '.png',
                 reduce_zero_label: bool = False, augment: dict | None = None, image_resize=None):
        if not classes:
            raise ValueError('seg_custom: give classes=[...] (the class name of each mask value)')
        if palette is not None and (len(palette) != len(classes) or any(len(c) != 3 for c in palette)):
            raise ValueError(f'seg_custom: palette needs one [r, g, b] per class ({len(classes)}), '
                             f'got {len(palette)} entries')
        self.pairs = _pairs(Path(img_dir), Path(ann_dir), Path(split_file) if split_file else None, seg_suffix)
        self.class_names = [str(c) for c in classes]
        self.num_classes = len(self.class_names)
        self.palette = palette
        self.reduce_zero_label = reduce_zero_label
        self.augment, self.image_resize = augment, image_resize

    @property
    def metainfo(self) -> dict:
        """Class names (and palette), as mmengine reads them."""
        return dict(classes=tuple(self.class_names), **({'palette': self.palette} if self.palette else {}))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict:
        image_path, mask_path = self.pairs[index]
        image = load_image(image_path)
        raw = load_label(mask_path)
        check_same_size(image, raw, image_path, mask_path)
        label = reduce_zero_label(raw) if self.reduce_zero_label else raw.astype(np.int64)
        check_seg_label(label, self.num_classes, mask_path)
        sample = dict(image=image, seg=torch.from_numpy(label),
                      meta=dict(img_path=str(image_path), seg_map_path=str(mask_path),
                                ori_shape=tuple(image.shape[-2:])))
        return finish_sample(sample, self.augment, self.image_resize)
