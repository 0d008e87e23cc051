"""Referring-expression data sets: one sample per (image, expression) with the batch keys of docs/CONTRACTS.md.

Each sample holds ``image`` (float32 [3, H, W] in [0, 1]), ``expression`` (str), ``target_box`` (float32 [4],
pixels ``x0, y0, x1, y1`` of the image as batched), ``boxes`` / ``box_labels`` (every annotated object of the image,
for the largest-object baseline) and ``meta`` (``img_path``, ``ori_shape``, ``split`` tag, ids). Images are resized
to ``size`` (boxes follow); horizontal flips are refused because they would swap what "left" and "right" mean.
"""
from __future__ import annotations

import torch
from torch.utils.data import Dataset

from dense.datasets.common import augment
from dense.datasets.refcoco import load_combined, load_refcoco
from dense.io import read_image


def finish_ref_sample(sample: dict, size: tuple[int, int] | None, augment_cfg: dict | None) -> dict:
    """Resize to ``size`` (and apply ``augment_cfg``: scale range / crop, no flip); boxes follow the pixels."""
    options = dict(resize=tuple(size) if size is not None else None, **(augment_cfg or {}))
    if options.pop('flip', False):
        raise ValueError('referring data sets: flip augmentation would mirror the image but not the words '
                         '"left" / "right" in the expressions; drop flip=True')
    return augment(sample, **options)


def _boxes(boxes, labels) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), torch.tensor(labels, dtype=torch.int64))


class RefCOCODataset(Dataset):
    """RefCOCO / RefCOCO+ / RefCOCOg in the REFER layout (:mod:`dense.datasets.refcoco`).

    Args:
        root: Folder holding ``refcoco/``, ``refcoco+/``, ``refcocog/`` and ``images/mscoco/images/train2014``.
        splits: One or several of ``'<variant>/<split>'`` (``refcoco/testA``, ``refcocog/val``, ...) or
            ``'combined/<train|val|test>'`` (big_vision's refcocox_combined, overlap-free training split).
        size: ``(H, W)`` every image is resized to (the encoder's input size), or None to keep it.
        augment: Training augmentation (``scale_range``, ``crop_size``; no flip), or None.
        num: Keep only the first ``num`` samples (smoke runs).
        split_by: Partition override per variant, e.g. ``{'refcocog': 'google'}``.
    """

    def __init__(self, root: str, splits='refcoco/val', size: tuple[int, int] | None = (224, 224),
                 augment: dict | None = None, num: int | None = None, split_by: dict | None = None):
        splits = [splits] if isinstance(splits, str) else list(splits)
        self.samples = []
        for spec in splits:
            variant, _, split = spec.partition('/')
            if not split:
                raise ValueError(f'refcoco: split {spec!r} must read "<variant>/<split>", e.g. "refcoco/testA"')
            self.samples += (load_combined(root, split) if variant == 'combined' else
                             load_refcoco(root, split, variant, (split_by or {}).get(variant)))
        self.samples = self.samples[:num] if num is not None else self.samples
        self.size, self.augment = size, augment

    @property
    def metainfo(self) -> dict:
        """What mmengine reads from a data set: nothing per class here (boxes carry their own labels)."""
        return {}

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict:
        s = self.samples[index]
        pixels = read_image(s['image_path'])
        if pixels.shape[:2] != tuple(s['image_size']):
            raise ValueError(f'{s["image_path"]}: image is {pixels.shape[1]}x{pixels.shape[0]} but instances.json '
                             f'says {s["image_size"][1]}x{s["image_size"][0]}; boxes would not match')
        boxes, labels = _boxes(s['image_boxes'], s['image_labels'])
        sample = dict(image=torch.from_numpy(pixels).permute(2, 0, 1).float() / 255, expression=s['sentence'],
                      target_box=torch.tensor(s['box'], dtype=torch.float32), boxes=boxes, box_labels=labels,
                      meta=dict(img_path=s['image_path'], ori_shape=tuple(s['image_size']), split=s['split'],
                                ref_id=s['ref_id'], ann_id=s['ann_id'], image_id=s['image_id']))
        return finish_ref_sample(sample, self.size, self.augment)


class RefScenesDataset(Dataset):
    """The embedded scenes' referring expressions (``dense.scenes``), one sample per expression, made on the fly.

    ``box_labels`` index the object classes ``CLASS_NAMES[1:]`` (as the RefCOCO export's category ids 1..5 do).

    Args:
        split: ``'train'``, ``'val'`` or ``'test'`` (fixed seeds per split).
        size: Rendered image size ``(H, W)``.
        num: Number of scenes (None = the split's default).
        augment: Training augmentation (``scale_range``, ``crop_size``; no flip), or None.
    """

    def __init__(self, split: str = 'train', size: tuple[int, int] = (128, 128), num: int | None = None,
                 augment: dict | None = None):
        from dense.scenes import SceneSet
        scenes = SceneSet(split=split, size=tuple(size), num=num)
        self.images, self.objects, self.items = [], [], []
        for k, scene in enumerate(scenes):  # rendered once: how many expressions a scene has is known only then
            self.images.append(scene.image)
            self.objects.append(_boxes([o['box'] for o in scene.objects], [o['class_id'] - 1 for o in scene.objects]))
            self.items += [(k, e['text'], e['box'], scene.seed) for e in scene.expressions]
        if not self.items:
            raise ValueError(f'ref_scenes: the {split} split (num={num}) has no referring expressions')
        self.split, self.augment = split, augment

    @property
    def metainfo(self) -> dict:
        """What mmengine reads from a data set: nothing per class here (boxes carry their own labels)."""
        return {}

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        k, text, box, seed = self.items[index]
        boxes, labels = self.objects[k]
        image = self.images[k]
        sample = dict(image=torch.from_numpy(image.copy()).permute(2, 0, 1).float() / 255, expression=text,
                      target_box=torch.tensor(box, dtype=torch.float32), boxes=boxes.clone(), box_labels=labels.clone(),
                      meta=dict(img_path=f'scene:{seed}', ori_shape=image.shape[:2], split=f'scenes/{self.split}'))
        return finish_ref_sample(sample, None, self.augment)
