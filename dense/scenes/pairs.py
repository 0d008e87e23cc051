"""Two views of one embedded scene with exact ground-truth correspondences (geometric correspondence, Probe3D-style).

View 0 is the scene exactly as ``render_scene(seed)`` draws it; view 1 is the same layout seen by the camera
orbited about the vertical axis through the ground point its optical axis meets (so it keeps looking at the same
spot), by a yaw drawn from ``U(-max_angle, max_angle)``: the relative rotation of the two cameras is ``|yaw|``.

Every pixel's surface point is known, so a pair carries camera-frame points ``xyz_0`` / ``xyz_1`` (x right, y down,
z forward; all-zero where a ray meets nothing), the intrinsics ``K`` (pixel centres at ``+0.5``, principal point at
the image centre; Probe3D's ``get_grid`` convention), the pose ``Rt_01`` taking camera-0 points to camera 1, the
position ``flow_0to1`` of each view-0 point in view 1 and its ``visible_0`` flag: in view 1's frame and not hidden
there (view 1's z-depth at that pixel within 2% of the point's).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dense.scenes.layout import Layout, _footprint, sample_layout
from dense.scenes.render import SPLITS, Scene, _check_size, render_view

DEPTH_TOLERANCE = 0.02  # relative z-depth agreement that counts a point as visible in the other view


@dataclass
class ScenePair:
    """Two views of scene ``seed`` (see the module docstring for the conventions)."""
    seed: int
    yaw: float
    view_0: Scene
    view_1: Scene
    xyz_0: np.ndarray       # float32 (H, W, 3), camera-0 frame
    xyz_1: np.ndarray       # float32 (H, W, 3), camera-1 frame
    K: np.ndarray           # float32 (3, 3)
    Rt_01: np.ndarray       # float32 (3, 4): x_1 = R x_0 + t
    flow_0to1: np.ndarray   # float32 (H, W, 2): (x, y) pixel position in view 1 of each view-0 point
    visible_0: np.ndarray   # bool (H, W)

    @property
    def angle(self) -> float:
        """Relative rotation of the cameras in degrees."""
        return abs(self.yaw)


def intrinsics(layout: Layout, size: tuple[int, int]) -> np.ndarray:
    """Pinhole matrix of the layout camera at ``size``: ``u = f x / z + W / 2`` (pixel centres at ``+0.5``)."""
    h, w = size
    f = layout.camera.focal(size)
    return np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]], dtype=np.float64)


def orbit(layout: Layout, yaw_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """``(origin, rotation)`` of the layout camera orbited by ``yaw_deg`` about the vertical through its look-at
    point on the ground."""
    cam = layout.camera
    rotation, origin = cam.rotation(), cam.origin
    forward = rotation[:, 2]
    pivot = origin + origin[1] / -forward[1] * forward
    c, s = np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))
    yaw = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return pivot + yaw @ (origin - pivot), yaw @ rotation


def _clear(layout: Layout, origin: np.ndarray) -> bool:
    """The camera stands off every object and in front of the wall."""
    return origin[2] < layout.wall_z - 0.5 and all(
        np.hypot(origin[0] - o.shape.x, origin[2] - o.shape.z) > _footprint(o.shape) + 0.3 for o in layout.objects)


def _camera_points(points: np.ndarray, origin: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """World points (H, W, 3) in the camera frame; rays that met nothing become all-zero."""
    finite = np.isfinite(points).all(-1, keepdims=True)
    local = np.where(finite, points - origin, 0.0) @ rotation
    return np.where(finite, local, 0.0).astype(np.float32)


def project(K: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    """Pixel positions ``(..., 2)`` of camera-frame points ``(..., 3)`` (z clamped at 1e-9, as Probe3D)."""
    uvw = xyz @ K.T
    return uvw[..., :2] / np.maximum(uvw[..., 2:3], 1e-9)


def render_pair(seed: int, size=(224, 224), max_angle: float = 60.0) -> ScenePair:
    """Render scene ``seed`` from its own camera and from the orbited one (yaw drawn from the seed)."""
    h, w = _check_size(size)
    layout = sample_layout(int(seed))
    rng = np.random.default_rng([int(seed), 2])
    for _ in range(50):
        yaw = float(rng.uniform(-max_angle, max_angle))
        origin_1, rotation_1 = orbit(layout, yaw)
        if _clear(layout, origin_1):
            break
    else:
        raise ValueError(f'dense/scenes/pairs.py: scene {seed}: no orbit within ±{max_angle}° keeps the camera '
                         'clear of the objects; lower max_angle')
    origin_0, rotation_0 = layout.camera.origin, layout.camera.rotation()
    view_0, points_0 = render_view(layout, int(seed), (h, w), origin_0, rotation_0)
    view_1, points_1 = render_view(layout, int(seed), (h, w), origin_1, rotation_1)
    xyz_0, xyz_1 = _camera_points(points_0, origin_0, rotation_0), _camera_points(points_1, origin_1, rotation_1)
    R, t = rotation_1.T @ rotation_0, rotation_1.T @ (origin_0 - origin_1)
    K = intrinsics(layout, (h, w))
    in_1 = xyz_0.astype(np.float64) @ R.T + t
    flow = project(K, in_1)
    col, row = np.floor(flow[..., 0]).astype(int), np.floor(flow[..., 1]).astype(int)
    inside = (xyz_0[..., 2] > 0) & (in_1[..., 2] > 0) & (col >= 0) & (col < w) & (row >= 0) & (row < h)
    seen = xyz_1[..., 2][row.clip(0, h - 1), col.clip(0, w - 1)]
    visible = inside & (seen > 0) & (np.abs(seen - in_1[..., 2]) <= DEPTH_TOLERANCE * in_1[..., 2])
    return ScenePair(seed=int(seed), yaw=yaw, view_0=view_0, view_1=view_1, xyz_0=xyz_0, xyz_1=xyz_1,
                     K=K.astype(np.float32), Rt_01=np.concatenate([R, t[:, None]], 1).astype(np.float32),
                     flow_0to1=flow.astype(np.float32), visible_0=visible)


def pair_sample(pair: ScenePair, name: str) -> dict:
    """A pair in the geometric-pair sample layout of ``probes.evaluations.correspond``."""
    def image(view: Scene) -> torch.Tensor:
        return torch.from_numpy(view.image.copy()).permute(2, 0, 1).float() / 255

    def grid(xyz: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(xyz.copy()).permute(2, 0, 1).contiguous()

    return {'image_0': image(pair.view_0), 'image_1': image(pair.view_1), 'xyz_0': grid(pair.xyz_0),
            'xyz_1': grid(pair.xyz_1), 'K': torch.from_numpy(pair.K.copy()),
            'Rt_01': torch.from_numpy(pair.Rt_01.copy()), 'angle': pair.angle,
            'meta': dict(key_0=f'{name}/0', key_1=f'{name}/1', seed=pair.seed,
                         visible_fraction=float(pair.visible_0.mean()))}


class ScenePairs:
    """Pairs of the fixed scenes of a split: pair ``i`` is ``render_pair(first_seed_of_split + i, size)``.

    Args:
        split: ``'train'``, ``'val'`` or ``'test'`` (the scenes' seed ranges).
        size: Image size ``(H, W)``.
        num: Number of pairs.
        max_angle: Largest orbit in degrees.
    """

    def __init__(self, split: str = 'val', size=(224, 224), num: int = 50, max_angle: float = 60.0):
        if split not in SPLITS:
            raise ValueError(f'dense/scenes/pairs.py: unknown split {split!r}; use one of {sorted(SPLITS)}')
        first, last = SPLITS[split]
        if not 0 < int(num) <= last - first:
            raise ValueError(f'dense/scenes/pairs.py: num must be in 1..{last - first}, got {num!r}')
        self.split, self.size, self.max_angle = split, _check_size(tuple(size)), float(max_angle)
        self.seeds = range(first, first + int(num))

    def __len__(self) -> int:
        return len(self.seeds)

    def __getitem__(self, index: int) -> dict:
        pair = render_pair(self.seeds[index], self.size, self.max_angle)
        return pair_sample(pair, f'scenes/{self.split}/{index}')
