"""NAVI (Jampani et al., NeurIPS 2023 Datasets) depth and normals reader, in NAVI v1.0's published layout, built
as Probe3D (El Banani et al., CVPR 2024; github.com/mbanani/probe3d, ``evals/datasets/navi.py: NAVI``) builds it.

Layout::

    <root>/<object_id>/<scene>/images/<stem>.jpg          scene: multiview_<k>_<camera> or wild_set
    <root>/<object_id>/<scene>/depth/<stem>.png           16-bit scaled disparity (see below), 0 = no depth
    <root>/<object_id>/<scene>/annotations.json           list of {"filename", "image_size": [h, w],
                                                           "camera": {"focal_length", "q", "t", ...}, ...}

Probe3D's ``data_processing/resize_navi.py`` writes ``images/downsampled_<stem>.jpg`` (EXIF-transposed, bicubic,
short side 1024) and ``depth/downsampled_<stem>.png`` (nearest) beside the originals; when present they are read
instead, as Probe3D does (exact parity with Probe3D needs them).

Per view, as Probe3D's ``get_single`` (``evals/datasets/utils.py``: ``read_image``, ``read_depth``,
``get_navi_transforms``, ``bbox_crop``, ``compute_normal``):

1. the image is EXIF-transposed; depth = ``65535 * 10 / value`` mm (value 0 = invalid), / 1000 -> metres;
2. image and depth: short side resized to ``short_side`` (512; torchvision ``Resize(int)``: long side
   ``int(512 * long / short)``), nearest neighbour for both (Probe3D's ``InterpolationMode.NEAREST``), the
   training colour jitter on that frame (Probe3D: on ImageNet-normalised values), then the central
   ``short_side`` square (torchvision ``CenterCrop`` rounding);
3. focal length scaled to that size: ``f * short_side / min(annotation image_size)``;
4. square box crop around the valid depth (Probe3D's ``bbox_crop``, side = max extent of the mask, centred, moved
   inside the image when it would leave it);
5. normals from the cropped depth with Probe3D's construction (:func:`dense.datasets.geo_common.probe3d_normals`);
6. image, depth and normals resized to ``size`` (512 x 512) with nearest neighbour (albumentations ``Resize(...,
   interpolation=0)``).

Splits follow Probe3D: objects without a ``wild_set`` or with a single scene are skipped; ``train`` = the first 90%
(int floor) of an object's multiview scenes, ``valid`` = the rest, ``trainval`` = all, ``test`` = the wild set; the
views of a scene are its ``images/*.jpg`` whose stem has no ``_``; every ``every``-th view of the whole list is kept
(Probe3D: 4). Probe3D lists objects, scenes and views in ``glob`` / ``os.listdir`` order, which depends on the file
system: ``order='listdir'`` repeats that on the same machine, ``order='sorted'`` (default) is reproducible anywhere.
Normals validity is depth > 0 in Probe3D's metrics; set the normals task's ``valid_from_depth=True`` for it.
"""
from __future__ import annotations

import json
import os

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from dense.datasets.geo_common import (clean_depth, early_color_jitter, finish_geo_sample, probe3d_normals,
                                       read_navi_depth)
from dense.extract import load_image


def _listing(path: str, order: str) -> list[str]:
    names = os.listdir(path)
    return sorted(names) if order == 'sorted' else names


def _scenes(root: str, order: str) -> dict[str, list[str]]:
    """``{object_id: scene names}`` of every scene folder holding an ``annotations.json``."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f'{root}: NAVI root not found (expected <root>/<object>/<scene>/annotations.json)')
    out = {}
    for obj in _listing(root, order):
        obj_dir = os.path.join(root, obj)
        if os.path.isdir(obj_dir):
            scenes = [s for s in _listing(obj_dir, order)
                      if (s.startswith('multiview') or s == 'wild_set')
                      and os.path.isfile(os.path.join(obj_dir, s, 'annotations.json'))]
            if scenes:
                out[obj] = scenes
    return out


def _split_scenes(scenes: list[str], split: str) -> list[str]:
    if split == 'test':
        return ['wild_set']
    multi = [s for s in scenes if s.startswith('multiview')]
    cut = int(0.9 * len(multi))
    return {'train': multi[:cut], 'valid': multi[cut:], 'trainval': multi}[split]


def _views(scene_dir: str, order: str) -> list[tuple[str, dict]]:
    """``(stem, annotation)`` of every original ``images/*.jpg`` (stem without ``_``), as Probe3D lists them."""
    ann_path = os.path.join(scene_dir, 'annotations.json')
    with open(ann_path) as f:
        try:
            annotations = {os.path.splitext(a['filename'])[0]: a for a in json.load(f)}
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f'{ann_path}: not a NAVI annotation list ({err})') from err
    out = []
    for name in _listing(os.path.join(scene_dir, 'images'), order):
        stem = name.split('.')[0]
        if 'jpg' in name and '_' not in stem:
            if stem not in annotations:
                raise ValueError(f'{ann_path}: no annotation for image {name}')
            out.append((stem, annotations[stem]))
    return out


def read_navi_image(path: str) -> torch.Tensor:
    """float32 ``[3, H, W]`` in [0, 1], EXIF orientation applied (Probe3D ``read_image``; ``dense.io.read_image``
    applies it to every image)."""
    return load_image(path)


def _nearest(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``[C, H, W]`` resized with nearest neighbour (source index floor(i * in / out), as torch and cv2)."""
    return F.interpolate(x[None], size=size, mode='nearest')[0] if tuple(x.shape[-2:]) != tuple(size) else x


def short_side_resize(x: torch.Tensor, side: int) -> torch.Tensor:
    """torchvision ``Resize(side, NEAREST)`` of a ``[C, H, W]`` tensor (long side ``int(side * long / short)``)."""
    h, w = x.shape[-2:]
    return _nearest(x, (side, int(side * w / h)) if h <= w else (int(side * h / w), side))


def center_square(x: torch.Tensor, side: int) -> torch.Tensor:
    """torchvision ``CenterCrop(side)`` (offsets rounded as it rounds them)."""
    h, w = x.shape[-2:]
    top, left = int(round((h - side) / 2.0)), int(round((w - side) / 2.0))
    return x[..., top:top + side, left:left + side]


def short_side_center_crop(x: torch.Tensor, side: int) -> torch.Tensor:
    """torchvision ``Resize(side, NEAREST)`` then ``CenterCrop(side)`` of a ``[C, H, W]`` tensor."""
    return center_square(short_side_resize(x, side), side)


def probe3d_box(valid: torch.Tensor, path: str = 'depth') -> tuple[int, int, int]:
    """``(top, left, side)`` of Probe3D's square box around ``valid`` (``evals/datasets/utils.py: bbox_crop``)."""
    coords = valid.nonzero()
    if coords.numel() == 0:
        raise ValueError(f'{path}: no valid depth, cannot box-crop the view')
    tl, br = coords.min(0).values, coords.max(0).values
    box = br - tl
    img = torch.tensor(valid.shape)
    side = int(box.max())
    if side > int(img.min()):
        raise ValueError(f'{path}: the valid depth spans {side} px, more than the image allows for a square crop')
    pad = side - box
    start = tl - pad // 2
    if not ((start >= 0).all() and (start + side <= img).all()):
        start = (tl - pad).clamp(min=0)
    return int(start[0]), int(start[1]), side


class NAVIDataset(Dataset):
    """NAVI views with depth and normals (Probe3D's construction; see the module docstring).

    Args:
        root: the ``navi_v1`` folder.
        split: ``'train'``, ``'valid'``, ``'trainval'`` or ``'test'`` (wild set).
        size: output ``(H, W)`` after the box crop (Probe3D: 512 x 512); None keeps the crop's size.
        every: keep every ``every``-th view (Probe3D: 4).
        max_depth: deeper ground truth is invalid (default none; Probe3D's NAVI probe bins depth over
            0.001-1 m but scores every valid pixel).
        box_crop: crop to the square box around the valid depth (Probe3D: yes).
        short_side: resize + centre-crop size before the box crop (Probe3D: 512); None = full resolution.
        order: ``'sorted'`` or ``'listdir'`` (Probe3D's file-system order).
        augment: options of ``dense.datasets.common.augment`` for training (Probe3D: ``color_jitter``).
        image_size: resize the image alone to this (int: shorter side), after any augmentation.
    """

    def __init__(self, root: str, split: str = 'train', size: tuple[int, int] | None = (512, 512), every: int = 4,
                 max_depth: float | None = None, box_crop: bool = True, short_side: int | None = 512,
                 order: str = 'sorted', augment: dict | None = None, image_size=None):
        if split not in ('train', 'valid', 'trainval', 'test'):
            raise ValueError(f"{root}: NAVI split must be train / valid / trainval / test, got {split!r}")
        if order not in ('sorted', 'listdir'):
            raise ValueError(f"{root}: NAVI order must be 'sorted' or 'listdir', got {order!r}")
        self.root, self.size, self.max_depth, self.box_crop = root, size, max_depth, box_crop
        self.short_side, self.augment, self.image_size = short_side, augment, image_size
        self.items = []
        for obj, scenes in _scenes(root, order).items():
            if 'wild_set' not in scenes or len(scenes) == 1:
                continue
            for scene in _split_scenes(scenes, split):
                self.items += [(obj, scene, stem, ann)
                               for stem, ann in _views(os.path.join(root, obj, scene), order)]
        self.items = self.items[::every]
        if not self.items:
            raise FileNotFoundError(f'{root}: no NAVI {split} views (objects need a wild_set and a multiview scene)')

    def __len__(self) -> int:
        return len(self.items)

    def _paths(self, obj: str, scene: str, stem: str) -> tuple[str, str]:
        scene_dir = os.path.join(self.root, obj, scene)
        small = os.path.join(scene_dir, 'images', f'downsampled_{stem}.jpg')
        if os.path.isfile(small):
            return small, os.path.join(scene_dir, 'depth', f'downsampled_{stem}.png')
        return os.path.join(scene_dir, 'images', f'{stem}.jpg'), os.path.join(scene_dir, 'depth', f'{stem}.png')

    def __getitem__(self, index: int) -> dict:
        obj, scene, stem, ann = self.items[index]
        img_path, depth_path = self._paths(obj, scene, stem)
        image = read_navi_image(img_path)
        depth = clean_depth(read_navi_depth(depth_path), self.max_depth)[None]
        if tuple(depth.shape[-2:]) != tuple(image.shape[-2:]):
            raise ValueError(f'{depth_path}: depth {tuple(depth.shape[-2:])} and image {tuple(image.shape[-2:])} '
                             'sizes differ')
        augment_cfg = self.augment
        if self.short_side is not None:
            image, depth = (short_side_resize(x, self.short_side) for x in (image, depth))
            # Probe3D's image_transform jitters the resized frame, before its centre crop
            jittered, augment_cfg = early_color_jitter({'image': image}, augment_cfg)
            image, depth = (center_square(x, self.short_side) for x in (jittered['image'], depth))
        focal = float(ann['camera']['focal_length']) * min(image.shape[-2:]) / min(ann['image_size'])
        meta = {'img_path': img_path, 'depth_path': depth_path, 'ori_shape': tuple(image.shape[-2:]),
                'object': obj, 'scene': scene, 'focal_length': focal}
        if self.box_crop:
            top, left, side = probe3d_box(depth[0] > 0, depth_path)
            image, depth = (x[..., top:top + side, left:left + side] for x in (image, depth))
            meta['crop'] = (top, left, side, side)
        normals = probe3d_normals(depth[0], focal)
        if self.size is not None:
            image, depth, normals = (_nearest(x, tuple(self.size)) for x in (image, depth, normals))
        sample = {'image': image, 'depth': depth[0], 'normals': normals, 'meta': meta}
        return finish_geo_sample(sample, augment_cfg, self.image_size)
