"""Semantic segmentation data sets in their published on-disk layouts, parsed by mmseg's data set classes.

mmseg gives the file lists, ``reduce_zero_label`` and class names; loading, label checks and augmentation are
ours and produce the training batch of docs/CONTRACTS.md (``image`` in [0, 1], ``seg`` int64, 255 = ignore).

Layouts (``data_root`` relative; ``{split}`` as named by each data set):
    ade20k: images/{training,validation}/*.jpg, annotations/.../*.png (0 = other -> ignored, 150 classes)
    voc: JPEGImages/*.jpg, SegmentationClass/*.png, ImageSets/Segmentation/{train,val}.txt (21 classes);
        ``sbd=True`` adds SegmentationClassAug/*.png listed in ImageSets/Segmentation/aug.txt (mmseg's voc_aug)
    pascal_context59: JPEGImages, SegmentationClassContext/*.png, ImageSets/SegmentationContext/{split}.txt
    coco_stuff: images/{train,val}2017/*.jpg, annotations/.../*_labelTrainIds.png (171 classes)
    cityscapes: leftImg8bit/{train,val}/<city>/*_leftImg8bit.png, gtFine/.../*_gtFine_labelTrainIds.png (19)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from dense.extract import load_image
from dense.datasets.common import (IGNORE_INDEX, augment, check_same_size, check_seg_label, load_label,
                                   target_size)

LAYOUTS = {
    'ade20k': dict(cls='ADE20KDataset', img='images/{split}', ann='annotations/{split}',
                   splits={'train': 'training', 'val': 'validation'}),
    'voc': dict(cls='PascalVOCDataset', img='JPEGImages', ann='SegmentationClass',
                ann_file='ImageSets/Segmentation/{split}.txt'),
    'pascal_context59': dict(cls='PascalContextDataset59', img='JPEGImages', ann='SegmentationClassContext',
                             ann_file='ImageSets/SegmentationContext/{split}.txt'),
    'coco_stuff': dict(cls='COCOStuffDataset', img='images/{split}2017', ann='annotations/{split}2017'),
    'cityscapes': dict(cls='CityscapesDataset', img='leftImg8bit/{split}', ann='gtFine/{split}'),
}
SBD = dict(ann='SegmentationClassAug', ann_file='ImageSets/Segmentation/aug.txt')


def _mmseg_file_list(kind: str, root: Path, split: str, ann_key: str = 'ann', ann_file_key: str = 'ann_file'):
    """``(data_list, metainfo)`` from mmseg's class for ``kind``; clear errors for missing paths or no files."""
    from dense.mmcv_compat import import_mmseg
    import_mmseg()
    from mmseg.registry import DATASETS as MMSEG_DATASETS

    root = root.resolve()  # mmseg joins data_root with the prefixes: relative ones would be doubled
    layout = dict(LAYOUTS[kind], **({'ann': SBD['ann'], 'ann_file': SBD['ann_file']} if ann_key == 'sbd' else {}))
    name = layout.get('splits', {}).get(split, split)
    img_dir, ann_dir = root / layout['img'].format(split=name), root / layout['ann'].format(split=name)
    for path in (img_dir, ann_dir):
        if not path.is_dir():
            raise FileNotFoundError(f'{path}: directory not found (expected the {kind} layout under {root})')
    kwargs = dict(data_root=str(root), data_prefix=dict(img_path=str(img_dir), seg_map_path=str(ann_dir)),
                  pipeline=[], serialize_data=False, lazy_init=False)
    if 'ann_file' in layout:
        ann_file = root / layout['ann_file'].format(split=name)
        if not ann_file.is_file():
            raise FileNotFoundError(f'{ann_file}: split file not found')
        kwargs['ann_file'] = str(ann_file)
    dataset = MMSEG_DATASETS.build(dict(type=layout['cls'], **kwargs))
    data_list = [dataset.get_data_info(i) for i in range(len(dataset))]
    return data_list, dataset.metainfo


def reduce_zero_label(label: np.ndarray) -> np.ndarray:
    """mmseg's ``reduce_zero_label``: 0 (unlabelled) -> 255, every other class shifted down by one."""
    out = label.astype(np.int64) - 1
    out[label == 0] = IGNORE_INDEX
    out[label == IGNORE_INDEX] = IGNORE_INDEX
    return out


class SegFolderDataset(Dataset):
    """One of :data:`LAYOUTS` on disk.

    Args:
        kind: Key of :data:`LAYOUTS`.
        data_root: Data set root directory.
        split: ``'train'`` or ``'val'`` (mapped to the data set's own names).
        augment: Training augmentation (``dense.datasets.common.augment`` options), or None.
        image_resize: Evaluation resize of the image only: ``(H, W)``, or an int short side; labels keep their
            size (predictions are resized to it).
        sbd: VOC only: add the SBD augmented set (``SegmentationClassAug`` + ``aug.txt``).
    """

    def __init__(self, kind: str, data_root: str, split: str = 'train', augment: dict | None = None,
                 image_resize: tuple[int, int] | int | None = None, sbd: bool = False):
        if kind not in LAYOUTS:
            raise KeyError(f'unknown segmentation data set {kind!r}; known: {sorted(LAYOUTS)}')
        root = Path(data_root)
        self.data_list, metainfo = _mmseg_file_list(kind, root, split)
        if sbd:
            if kind != 'voc':
                raise ValueError('sbd=True applies to the voc data set only')
            names = {Path(d['img_path']).stem for d in self.data_list}
            extra, _ = _mmseg_file_list(kind, root, split, ann_key='sbd')
            self.data_list += [d for d in extra if Path(d['img_path']).stem not in names]
        if not self.data_list:
            raise ValueError(f'{root}: the {kind} {split} split has no images (check the layout)')
        self.kind, self.split = kind, split
        self.class_names = list(metainfo['classes'])
        self.num_classes = len(self.class_names)
        self.augment = augment
        self.image_resize = image_resize

    @property
    def metainfo(self) -> dict:
        """Class names, as mmengine reads them."""
        return dict(classes=tuple(self.class_names))

    def __len__(self) -> int:
        return len(self.data_list)

    def __getitem__(self, index: int) -> dict:
        info = self.data_list[index]
        image = load_image(info['img_path'])
        raw = load_label(info['seg_map_path'])
        check_same_size(image, raw, info['img_path'], info['seg_map_path'])
        label = reduce_zero_label(raw) if info['reduce_zero_label'] else raw.astype(np.int64)
        check_seg_label(label, self.num_classes, info['seg_map_path'])
        sample = dict(image=image, seg=torch.from_numpy(label),
                      meta=dict(img_path=info['img_path'], seg_map_path=info['seg_map_path'],
                                ori_shape=tuple(image.shape[-2:])))
        return finish_sample(sample, self.augment, self.image_resize)


def finish_sample(sample: dict, augment_cfg: dict | None, image_resize) -> dict:
    """Apply training augmentation, or the evaluation resize of the image alone."""
    if augment_cfg is not None:
        return augment(sample, **augment_cfg)
    if image_resize is None:
        return sample
    size = target_size(tuple(sample['image'].shape[-2:]), image_resize)
    image = F.interpolate(sample['image'][None], size=size, mode='bilinear', align_corners=False, antialias=True)
    return dict(sample, image=image[0])
