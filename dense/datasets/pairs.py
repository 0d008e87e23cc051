"""Image pairs for the correspondence evaluation (``probes.evaluations.correspond``), in their published layouts,
prepared as Probe3D (El Banani et al., CVPR 2024; github.com/mbanani/probe3d) prepares them.

NAVI v1.0 (``evals/datasets/navi.py: NAVI(pair_dataset=True)``; views read with ``dense.datasets.navi``)::

    <root>/<object>/<scene>/{images/<stem>.jpg, depth/<stem>.png (scaled disparity), annotations.json}

  Probe3D's ``test`` split (the wild sets). Pose of a view: ``T(t) R(q)`` from ``camera.q`` (w, x, y, z) and
  ``camera.t`` (mm -> m), object to camera; ``Rt_01 = Rt_1 Rt_0^-1``. Each view is paired with one other view of the
  same object and scene whose relative rotation is in (0, ``max_angle`` = 120] degrees, drawn with
  ``torch.manual_seed(8)`` and ``torch.multinomial`` in list order (``generate_instance_pairs``); then every 4th
  pair is kept. Points: depth back-projected at the 512 short-side centre crop with the principal point at its
  centre, box-cropped and resized to 512 x 512 (nearest) with the image; ``K = diag(f', f', 1)`` at 512.

ScanNet test pairs (``scannet_test_1500`` of SuperGlue / LoFTR; ``evals/datasets/scannet_pairs.py``)::

    <root>/intrinsics.npz ({scene id: 3 x 3 K}), <root>/test.npz ('name': rows [room, seq, frame_0, frame_1]),
    <root>/scene<room:04d>_<seq:02d>/{color/<frame>.jpg, depth/<frame>.png (uint16 mm), pose/<frame>.txt}

  Colour resized to 480 x 640, depth in metres, poses camera-to-world 4 x 4, ``Rt_01 = P_1^-1 P_0``.

SPair-71k (``evals/datasets/spair.py``, ``evaluate_spair_correspondence.py``)::

    <root>/JPEGImages/<category>/<name>.jpg, <root>/PairAnnotation/{trn,val,test}/<pair>.json,
    <root>/ImageAnnotation/<category>/<name>.json

  A pair file gives ``src_imname``, ``trg_imname``, ``category``, ``src_kps`` / ``trg_kps`` (the keypoints both
  images show, in the same order), ``trg_bndbox`` (x0, y0, x1, y1), ``trg_imsize`` (w, h, c) and
  ``viewpoint_variation``. Probe3D's settings (``configs/spair_correspondence.yaml``): split test, images padded
  at the bottom / right with white to a square and resized to 800 (bicubic, antialias), no box crop, 200 pairs a
  category (``random.seed(20)`` shuffle; we shuffle the sorted file list, Probe3D its ``glob`` order), PCK
  threshold scale = the target box's longer side over the target image's longer side. Keypoints stay float
  (Probe3D casts them to int before scaling).
"""
from __future__ import annotations

import glob
import json
import os
import random

import numpy as np
import torch
import torch.nn.functional as F

from dense.datasets.geo_common import clean_depth, read_depth_png, read_navi_depth
from dense.datasets.navi import (_nearest, _scenes, _views, probe3d_box, read_navi_image,
                                 short_side_center_crop)
from dense.extract import load_image


def quaternion_matrix(q) -> np.ndarray:
    """Rotation matrix of a quaternion (w, x, y, z), normalised (Probe3D ``quaternion_to_rotation_matrix``)."""
    w, x, y, z = np.asarray(q, dtype=np.float64)
    s = 2.0 / (w * w + x * x + y * y + z * z)
    return np.array([[1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w)],
                     [s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w)],
                     [s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y)]])


def rotation_angle(R: np.ndarray) -> float:
    """Angle of a rotation in degrees (Probe3D ``so3_rotation_angle``)."""
    return float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))))


def backproject(depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """``[3, H, W]`` camera-frame points of a ``[H, W]`` depth map (pixel centres at +0.5; 0 stays 0)."""
    h, w = depth.shape
    ys, xs = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing='ij')
    uv1 = torch.stack([xs, ys, torch.ones_like(xs)]).double() * depth.double()
    return (torch.linalg.inv(K.double()) @ uv1.reshape(3, -1)).reshape(3, h, w).float()


def _pose_matrix(R: np.ndarray, t) -> torch.Tensor:
    out = torch.eye(4, dtype=torch.float64)
    out[:3, :3], out[:3, 3] = torch.from_numpy(R), torch.as_tensor(t, dtype=torch.float64)
    return out


class NAVIPairs:
    """NAVI multi-view pairs (see the module docstring).

    Args:
        root: The ``navi_v1`` folder.
        split: NAVI split (Probe3D pairs the ``test`` wild sets).
        size: Output size (512).
        max_angle: Largest relative rotation of a pair (120).
        every: Keep every ``every``-th pair (4).
        order: ``'sorted'`` or ``'listdir'`` (``dense.datasets.navi``).
    """

    def __init__(self, root: str, split: str = 'test', size: int = 512, max_angle: float = 120.0, every: int = 4,
                 order: str = 'sorted'):
        from dense.datasets.navi import _split_scenes
        self.root, self.size = root, int(size)
        views = []
        for obj, scenes in _scenes(root, order).items():
            if 'wild_set' in scenes and len(scenes) > 1:
                views += [(obj, scene, stem, ann) for scene in _split_scenes(scenes, split)
                          for stem, ann in _views(os.path.join(root, obj, scene), order)]
        self.pairs = self._pair(views, float(max_angle))[::every]
        if not self.pairs:
            raise FileNotFoundError(f'{root}: no NAVI {split} pairs within {max_angle} degrees')

    @staticmethod
    def _pose(ann: dict) -> np.ndarray:
        return quaternion_matrix(ann['camera']['q'])

    def _pair(self, views: list, max_angle: float) -> list:
        torch.manual_seed(8)
        groups: dict = {}
        for view in views:
            groups.setdefault(view[:2], []).append(view)
        pairs = []
        for view in views:
            group = groups[view[:2]]
            R = self._pose(view[3])
            angles = np.array([rotation_angle(R @ self._pose(other[3]).T) for other in group])
            weights = torch.from_numpy(((angles > 0) & (angles <= max_angle)).astype(np.float64))
            if weights.sum() == 0:
                continue  # no other view within max_angle (Probe3D would stop with a multinomial error)
            pairs.append((view, group[int(torch.multinomial(weights, 1))]))
        return pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def _view(self, view: tuple) -> tuple[torch.Tensor, torch.Tensor, float, torch.Tensor, str]:
        obj, scene, stem, ann = view
        scene_dir = os.path.join(self.root, obj, scene)
        small = os.path.join(scene_dir, 'images', f'downsampled_{stem}.jpg')
        prefix = 'downsampled_' if os.path.isfile(small) else ''
        img_path = os.path.join(scene_dir, 'images', f'{prefix}{stem}.jpg')
        depth_path = os.path.join(scene_dir, 'depth', f'{prefix}{stem}.png')
        image = short_side_center_crop(read_navi_image(img_path), self.size)
        depth = short_side_center_crop(clean_depth(read_navi_depth(depth_path))[None], self.size)[0]
        focal = float(ann['camera']['focal_length']) * self.size / min(ann['image_size'])
        K = torch.tensor([[focal, 0, self.size / 2], [0, focal, self.size / 2], [0, 0, 1]])
        xyz = backproject(depth, K)
        top, left, side = probe3d_box(depth > 0, depth_path)
        image, xyz = (_nearest(x[..., top:top + side, left:left + side], (self.size,) * 2) for x in (image, xyz))
        xyz[:, xyz[2] <= 0] = 0
        pose = _pose_matrix(self._pose(ann), np.asarray(ann['camera']['t'], dtype=np.float64) / 1000.0)
        return image, xyz, focal * self.size / side, pose, img_path

    def __getitem__(self, index: int) -> dict:
        (image_0, xyz_0, _, pose_0, path_0), (image_1, xyz_1, f_1, pose_1, path_1) = map(self._view, self.pairs[index])
        Rt_01 = (pose_1 @ torch.linalg.inv(pose_0))[:3].float()
        return {'image_0': image_0, 'image_1': image_1, 'xyz_0': xyz_0, 'xyz_1': xyz_1,
                'K': torch.diag(torch.tensor([f_1, f_1, 1.0])), 'Rt_01': Rt_01,
                'angle': rotation_angle(Rt_01[:, :3].double().numpy()),
                'meta': dict(key_0=path_0, key_1=path_1)}


class ScanNetPairs:
    """The 1500 ScanNet test pairs (see the module docstring); ``image_size`` (480, 640) as Probe3D."""

    def __init__(self, root: str, image_size=(480, 640)):
        self.root, self.image_size = root, tuple(image_size)
        paths = [os.path.join(root, name) for name in ('intrinsics.npz', 'test.npz')]
        for path in paths:
            if not os.path.isfile(path):
                raise FileNotFoundError(f'{path}: not found (expected the scannet_test_1500 layout under {root})')
        with np.load(paths[0]) as k, np.load(paths[1]) as t:
            intrinsics, names = dict(k), t['name']
        self.pairs = []
        for room, seq, frame_0, frame_1 in names:
            scene = f'scene{int(room):04d}_{int(seq):02d}'
            if scene not in intrinsics:
                raise KeyError(f'{paths[0]}: no intrinsics for {scene}')
            self.pairs.append((scene, int(frame_0), int(frame_1), torch.as_tensor(intrinsics[scene]).float()))

    def __len__(self) -> int:
        return len(self.pairs)

    def _view(self, scene: str, frame: int, K: torch.Tensor):
        base = os.path.join(self.root, scene)
        image = load_image(os.path.join(base, 'color', f'{frame}.jpg'))
        image = F.interpolate(image[None], size=self.image_size, mode='bilinear', antialias=True)[0].clamp(0, 1)
        depth_path = os.path.join(base, 'depth', f'{frame}.png')
        depth = clean_depth(read_depth_png(depth_path, 1000.0))
        pose_path = os.path.join(base, 'pose', f'{frame}.txt')
        if not os.path.isfile(pose_path):
            raise FileNotFoundError(f'{pose_path}: camera pose not found')
        pose = torch.from_numpy(np.loadtxt(pose_path, delimiter=' ', ndmin=2)).double()
        if pose.shape != (4, 4) or not torch.isfinite(pose).all():
            raise ValueError(f'{pose_path}: expected a finite 4 x 4 camera-to-world matrix, got {tuple(pose.shape)}')
        return image, backproject(depth, K), pose, os.path.join(base, 'color', f'{frame}.jpg')

    def __getitem__(self, index: int) -> dict:
        scene, frame_0, frame_1, K = self.pairs[index]
        image_0, xyz_0, pose_0, path_0 = self._view(scene, frame_0, K)
        image_1, xyz_1, pose_1, path_1 = self._view(scene, frame_1, K)
        Rt_01 = (torch.linalg.inv(pose_1) @ pose_0)[:3].float()
        return {'image_0': image_0, 'image_1': image_1, 'xyz_0': xyz_0, 'xyz_1': xyz_1, 'K': K.clone(),
                'Rt_01': Rt_01, 'angle': rotation_angle(Rt_01[:, :3].double().numpy()),
                'meta': dict(key_0=path_0, key_1=path_1)}


class SPairPairs:
    """SPair-71k keypoint pairs (see the module docstring).

    Args:
        root: The ``SPair-71k`` folder.
        split: ``'test'``, ``'val'`` or ``'trn'``.
        image_size: Square side the padded images are resized to (800).
        num_instances: Pairs kept per category (200; None = all).
        categories: Categories to keep (None = all).
    """

    def __init__(self, root: str, split: str = 'test', image_size: int = 800, num_instances: int | None = 200,
                 categories=None):
        folder = os.path.join(root, 'PairAnnotation', split)
        files = sorted(glob.glob(os.path.join(folder, '*.json')))
        if not files:
            raise FileNotFoundError(f'{folder}: no pair annotations (expected the SPair-71k layout under {root})')
        by_category: dict[str, list] = {}
        for path in files:
            ann = self._read(path)
            if categories is None or ann['category'] in categories:
                by_category.setdefault(ann['category'], []).append((path, ann))
        self.items = []
        for category in sorted(by_category):
            items = by_category[category]
            random.Random(20).shuffle(items)
            self.items += items[:num_instances] if num_instances else items
        self.root, self.image_size = root, int(image_size)

    @staticmethod
    def _read(path: str) -> dict:
        try:
            with open(path) as f:
                ann = json.load(f)
            for key in ('src_imname', 'trg_imname', 'category', 'src_kps', 'trg_kps', 'trg_bndbox', 'trg_imsize'):
                ann[key]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f'{path}: not an SPair-71k pair annotation ({type(err).__name__}: {err})') from None
        if len(ann['src_kps']) != len(ann['trg_kps']) or not ann['src_kps']:
            raise ValueError(f'{path}: src_kps and trg_kps must list the same (non-zero) number of keypoints')
        return ann

    def __len__(self) -> int:
        return len(self.items)

    def _image(self, ann_path: str, category: str, name: str, kps) -> tuple[torch.Tensor, torch.Tensor]:
        """The padded, resized image and its keypoints in its pixels; a keypoint outside the image is an error."""
        image = load_image(os.path.join(self.root, 'JPEGImages', category, name))
        h, w = image.shape[-2:]
        kps = torch.as_tensor(kps, dtype=torch.float32).reshape(-1, 2)
        outside = (kps[:, 0] < 0) | (kps[:, 0] > w) | (kps[:, 1] < 0) | (kps[:, 1] > h)
        if outside.any():
            raise ValueError(f'{ann_path}: keypoint {kps[outside][0].tolist()} lies outside {name} ({w} x {h})')
        side = max(h, w)
        image = F.pad(image, (0, side - w, 0, side - h), value=1.0)
        image = F.interpolate(image[None], size=(self.image_size,) * 2, mode='bicubic', antialias=True)[0]
        return image.clamp(0, 1), kps * self.image_size / side

    def __getitem__(self, index: int) -> dict:
        path, ann = self.items[index]
        image_0, kps_0 = self._image(path, ann['category'], ann['src_imname'], ann['src_kps'])
        image_1, kps_1 = self._image(path, ann['category'], ann['trg_imname'], ann['trg_kps'])
        x0, y0, x1, y1 = ann['trg_bndbox']
        scale = max(x1 - x0, y1 - y0) / max(ann['trg_imsize'][:2])
        return {'image_0': image_0, 'image_1': image_1, 'kps_0': kps_0, 'kps_1': kps_1, 'scale': float(scale),
                'category': ann['category'], 'vp': int(ann.get('viewpoint_variation', -1)),
                'meta': dict(key_0=f"{ann['category']}/{ann['src_imname']}",
                             key_1=f"{ann['category']}/{ann['trg_imname']}", pair=path)}
