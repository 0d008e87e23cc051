"""NAVI (Jampani et al., NeurIPS 2023 Datasets) depth and normals reader, in NAVI v1.0's published layout.

Layout::

    <root>/<object_id>/<scene>/images/<stem>.jpg          scene: multiview_<k>_<camera> or wild_set
    <root>/<object_id>/<scene>/depth/<stem>.png           16-bit, millimetres
    <root>/<object_id>/<scene>/annotations.json           list of {"filename", "image_size": [h, w],
                                                           "camera": {"focal_length", "q", "t", ...}, ...}

Probe3D's resize script writes ``images/downsampled_<stem>.jpg`` and ``depth/downsampled_<stem>.png`` beside the
originals; when present they are read instead (the focal length is rescaled to their size).

Splits follow Probe3D (``evals/datasets/navi.py``): objects without a ``wild_set`` or with a single scene are
skipped; ``train`` = the first 90% (int floor) of an object's sorted multiview scenes, ``valid`` = the rest,
``trainval`` = all multiview scenes, ``test`` = the wild set; every ``every``-th view is kept (Probe3D: 4).
Depth is metres (mm / 1000), 0 = invalid; normals are computed from depth with the pinhole intrinsics (focal
length from the annotation, principal point at the image centre, as Probe3D assumes). Each sample is cropped
to the square box around its valid depth (Probe3D's box crop) and resized to ``size`` (512 x 512).
"""
from __future__ import annotations

import json
import os

import numpy as np
from torch.utils.data import Dataset

from dense.datasets.common import augment
from dense.datasets.segmentation import finish_sample
from dense.datasets.geo_common import clean_depth, normals_from_depth, read_depth_png
from dense.extract import load_image
from dense.io import read_image


def _scenes(root: str) -> dict[str, list[str]]:
    """``{object_id: sorted scene names}`` of every scene folder holding an ``annotations.json``."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f'{root}: NAVI root not found (expected <root>/<object>/<scene>/annotations.json)')
    out = {}
    for obj in sorted(os.listdir(root)):
        obj_dir = os.path.join(root, obj)
        if os.path.isdir(obj_dir):
            scenes = sorted(s for s in os.listdir(obj_dir)
                            if os.path.isfile(os.path.join(obj_dir, s, 'annotations.json')))
            if scenes:
                out[obj] = scenes
    return out


def _split_scenes(scenes: list[str], split: str) -> list[str]:
    if split == 'test':
        return ['wild_set']
    multi = [s for s in scenes if s.startswith('multiview')]
    cut = int(0.9 * len(multi))
    return {'train': multi[:cut], 'valid': multi[cut:], 'trainval': multi}[split]


def _square_box(valid: np.ndarray) -> tuple[int, int, int, int]:
    """Square ``(top, left, side, side)`` around the valid pixels, shifted to stay inside the image."""
    h, w = valid.shape
    rows, cols = np.nonzero(valid)
    if rows.size == 0:
        side = min(h, w)
        return (h - side) // 2, (w - side) // 2, side, side
    side = min(max(rows.max() - rows.min(), cols.max() - cols.min()) + 1, h, w)
    top = int(np.clip((rows.min() + rows.max() + 1 - side) // 2, 0, h - side))
    left = int(np.clip((cols.min() + cols.max() + 1 - side) // 2, 0, w - side))
    return top, left, int(side), int(side)


class NAVIDataset(Dataset):
    """NAVI views with depth and normals.

    Args:
        root: the ``navi_v1`` folder.
        split: ``'train'``, ``'valid'``, ``'trainval'`` or ``'test'`` (wild set).
        size: output ``(H, W)`` after the box crop (Probe3D: 512 x 512).
        every: keep every ``every``-th view (Probe3D: 4).
        max_depth: deeper ground truth is invalid (default none; Probe3D's NAVI probe bins depth over
            0.001-1 m but scores every valid pixel).
        box_crop: crop to the square box around the valid depth first.
        augment: options of ``dense.datasets.common.augment`` for training (Probe3D: none).
        image_size: resize the image alone to this (int: shorter side) when not augmenting.
    """

    def __init__(self, root: str, split: str = 'train', size: tuple[int, int] = (512, 512), every: int = 4,
                 max_depth: float | None = None, box_crop: bool = True, augment: dict | None = None,
                 image_size=None):
        if split not in ('train', 'valid', 'trainval', 'test'):
            raise ValueError(f"{root}: NAVI split must be train / valid / trainval / test, got {split!r}")
        self.root, self.size, self.max_depth, self.box_crop = root, size, max_depth, box_crop
        self.augment, self.image_size = augment, image_size
        self.items = []
        for obj, scenes in _scenes(root).items():
            if 'wild_set' not in scenes or len(scenes) == 1:
                continue
            for scene in _split_scenes(scenes, split):
                ann_path = os.path.join(root, obj, scene, 'annotations.json')
                with open(ann_path) as f:
                    try:
                        annotations = json.load(f)
                    except json.JSONDecodeError as err:
                        raise ValueError(f'{ann_path}: invalid JSON ({err})') from err
                for ann in sorted(annotations, key=lambda a: a['filename']):
                    self.items.append((obj, scene, ann))
        self.items = self.items[::every]
        if not self.items:
            raise FileNotFoundError(f'{root}: no NAVI {split} views (objects need a wild_set and a multiview scene)')

    def __len__(self) -> int:
        return len(self.items)

    def _paths(self, obj: str, scene: str, filename: str) -> tuple[str, str]:
        stem = os.path.splitext(filename)[0]
        scene_dir = os.path.join(self.root, obj, scene)
        small = os.path.join(scene_dir, 'images', f'downsampled_{stem}.jpg')
        if os.path.isfile(small):
            return small, os.path.join(scene_dir, 'depth', f'downsampled_{stem}.png')
        return os.path.join(scene_dir, 'images', filename), os.path.join(scene_dir, 'depth', f'{stem}.png')

    def __getitem__(self, index: int) -> dict:
        obj, scene, ann = self.items[index]
        img_path, depth_path = self._paths(obj, scene, ann['filename'])
        image = read_image(img_path)
        depth = clean_depth(read_depth_png(depth_path, 1000.0), self.max_depth)
        if tuple(depth.shape) != image.shape[:2]:
            raise ValueError(f'{depth_path}: depth {tuple(depth.shape)} and image {image.shape[:2]} sizes differ')
        orig_h, orig_w = ann['image_size']
        h, w = image.shape[:2]
        focal = float(ann['camera']['focal_length']) * min(h, w) / min(orig_h, orig_w)
        normals = normals_from_depth(depth, focal, focal, w / 2, h / 2)
        sample = {'image': load_image(image), 'depth': depth, 'normals': normals,
                  'meta': {'img_path': img_path, 'depth_path': depth_path, 'ori_shape': (h, w),
                           'object': obj, 'scene': scene, 'focal_length': focal}}
        if self.box_crop:
            top, left, bh, bw = _square_box(depth.numpy() > 0)
            sample = {k: v[..., top:top + bh, left:left + bw] if k != 'meta' else v for k, v in sample.items()}
            sample['meta'] = dict(sample['meta'], crop=(top, left, bh, bw))
        if self.size is not None:
            sample = augment(sample, resize=tuple(self.size))
        return finish_sample(sample, self.augment, self.image_size)
