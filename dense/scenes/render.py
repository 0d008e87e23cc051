"""Render a procedural scene with exact per-pixel labels by vectorized analytic ray casting (numpy, CPU).

Conventions: ``depth`` is the z-depth in metres along the camera's optical axis (not the distance along the ray);
``normals`` are unit vectors in the camera frame (x right, y down, z forward), so a surface facing the camera has
z < 0. Labels are evaluated at pixel centres, without anti-aliasing, so they are exact for the image.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dense.scenes.expressions import make_expressions
from dense.scenes.geometry import Rays
from dense.scenes.layout import CLASS_NAMES, COLORS, Layout, sample_layout
from dense.scenes.shading import pattern, shade

GROUND, WALL = -1, -2  # hit ids of the background surfaces; objects are 0..n-1
SPLITS = {'train': (0, 1_000_000), 'val': (1_000_000, 1_100_000), 'test': (1_100_000, 1_200_000)}
DEFAULT_NUM = {'train': 1000, 'val': 200, 'test': 200}


@dataclass
class Scene:
    """One rendered scene (see the module docstring for the depth and normal conventions).

    ``instances`` (int16, -1 = background) indexes ``objects``; object ``box`` is (x0, y0, x1, y1) in pixel-edge
    coordinates of the visible part (x1, y1 exclusive); ``position`` is the object's centre in the camera frame.
    """
    seed: int
    image: np.ndarray
    depth: np.ndarray
    normals: np.ndarray
    semantic: np.ndarray
    instances: np.ndarray
    objects: list = field(default_factory=list)
    expressions: list = field(default_factory=list)


def _check_size(size) -> tuple[int, int]:
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(v, (int, np.integer)) and v > 0 for v in size)):
        raise ValueError(f'dense/scenes/render.py: size must be (H, W) with positive ints, got {size!r}')
    return int(size[0]), int(size[1])


def cast(layout: Layout, rays: Rays) -> tuple[np.ndarray, np.ndarray]:
    """First object hit along rays: (t (P,), object index (P,), -1 where no object is hit)."""
    t = np.full(rays.count, np.inf)
    hit = np.full(rays.count, -1)
    for k, obj in enumerate(layout.objects):
        rows = np.flatnonzero(rays.near(obj.shape.bound()))
        if len(rows) == 0:
            continue
        tk = obj.shape.intersect(*rays.subset(rows))
        closer = tk < t[rows]
        t[rows[closer]], hit[rows[closer]] = tk[closer], k
    return t, hit


def _background(layout: Layout, origin: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ground and wall hits of rays from ``origin``; rays meeting neither get ``t = inf`` (labelled wall)."""
    with np.errstate(divide='ignore'):
        t_ground = np.where(dirs[:, 1] < 0, origin[1] / -np.minimum(dirs[:, 1], -1e-300), np.inf)
        t_wall = np.where(dirs[:, 2] > 0, (layout.wall_z - origin[2]) / np.maximum(dirs[:, 2], 1e-300), np.inf)
    return np.minimum(t_ground, t_wall), np.where(t_ground < t_wall, GROUND, WALL)


def _surface(layout: Layout, points: np.ndarray, hit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World normals and albedo (P, 3) at the hit points."""
    normals = np.zeros_like(points)
    albedo = np.zeros_like(points)
    ground = layout.ground
    rows = hit == GROUND
    normals[rows] = (0.0, 1.0, 0.0)
    mix = pattern(ground['texture'], points[rows][:, [0, 2]], 1 / ground['scale'], layout.noise_seed)[:, None]
    albedo[rows] = (1 - mix) * ground['color_a'] + mix * ground['color_b']  # 'plain' has mix = 0
    normals[hit == WALL] = (0.0, 0.0, -1.0)
    for k, obj in enumerate(layout.objects):
        rows = hit == k
        normals[rows] = obj.shape.normal(points[rows])
        local = points[rows] - obj.shape.center
        darken = 1 - obj.tex_strength * pattern(obj.texture, local, obj.tex_scale, layout.noise_seed + k)
        albedo[rows] = np.array(COLORS[obj.color], dtype=float) * darken[:, None]
    return normals, albedo


def _colour(layout: Layout, points, dirs, hit, normals, albedo, rng) -> np.ndarray:
    colour = np.zeros_like(points)
    wall = hit == WALL
    elevation = np.clip(3 * dirs[wall, 1] / np.linalg.norm(dirs[wall], axis=1), 0, 1)[:, None]
    colour[wall] = elevation * layout.sky[0] + (1 - elevation) * layout.sky[1]
    solid = np.flatnonzero(~wall)
    lit = np.zeros(len(solid))
    facing = np.flatnonzero(normals[solid] @ layout.light > 0)  # the rest is unlit whatever lies in the way
    start = points[solid[facing]] + 1e-4 * normals[solid[facing]]
    lit[facing] = np.isinf(cast(layout, Rays(start, layout.light))[0])
    colour[solid] = shade(albedo[solid], normals[solid], dirs[solid], layout.light, lit,
                          layout.ambient, layout.specular, layout.shininess)
    colour += rng.normal(0, 2.0, colour.shape)
    return np.clip(np.rint(colour), 0, 255).astype(np.uint8)


def _objects(layout: Layout, hit_map: np.ndarray, rotation: np.ndarray, origin: np.ndarray) -> tuple[list, np.ndarray]:
    """Visible objects (hidden ones dropped) as contract dicts, and the instance map re-indexed to them."""
    objects, instances = [], np.full(hit_map.shape, -1, np.int16)
    for k, obj in enumerate(layout.objects):
        ys, xs = np.nonzero(hit_map == k)
        if len(ys) == 0:
            continue
        instances[ys, xs] = len(objects)
        position = rotation.T @ (obj.shape.center - origin)
        objects.append(dict(category=obj.category, class_id=CLASS_NAMES.index(obj.category),
                            box=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1),
                            color=obj.color, size=obj.size, texture=obj.texture, area=int(len(ys)),
                            position=tuple(float(v) for v in position)))
    return objects, instances


def render_scene(seed: int, size=(224, 224)) -> Scene:
    """Render the scene of ``seed`` at ``size`` = (H, W); the same seed gives the same scene at any size."""
    layout = sample_layout(int(seed))
    return render_view(layout, int(seed), _check_size(size), layout.camera.origin, layout.camera.rotation())[0]


def render_view(layout: Layout, seed: int, size: tuple[int, int], origin: np.ndarray,
                rotation: np.ndarray) -> tuple[Scene, np.ndarray]:
    """Render ``layout`` from a camera at ``origin`` whose axes (x right, y down, z forward) are the columns of
    ``rotation`` (world frame), with the layout camera's field of view.

    Returns the scene and each pixel's world point ``(H, W, 3)``; a ray meeting no surface (only possible for
    cameras other than the layout's own) has depth and point ``inf``.
    """
    h, w = size
    dirs = layout.camera.rays((h, w)) @ rotation.T       # world directions whose camera-frame z is 1
    t, hit = _background(layout, origin, dirs)
    t_obj, hit_obj = cast(layout, Rays(origin, dirs))
    closer = t_obj < t
    t, hit = np.where(closer, t_obj, t), np.where(closer, hit_obj, hit)
    with np.errstate(invalid='ignore'):
        points = origin + t[:, None] * dirs
    normals, albedo = _surface(layout, points, hit)
    rng = np.random.default_rng([int(seed), 1])
    image = _colour(layout, points, dirs, hit, normals, albedo, rng)
    class_of = np.array([CLASS_NAMES.index(o.category) for o in layout.objects] + [0, 0], dtype=np.uint8)
    objects, instances = _objects(layout, hit.reshape(h, w), rotation, origin)
    scene = Scene(seed=int(seed), image=image.reshape(h, w, 3), depth=t.reshape(h, w).astype(np.float32),
                  normals=(normals @ rotation).reshape(h, w, 3).astype(np.float32),
                  semantic=class_of[hit].reshape(h, w), instances=instances, objects=objects,
                  expressions=make_expressions(objects, rng, h * w))
    return scene, points.reshape(h, w, 3)


class SceneSet:
    """Fixed scenes of a split: scene ``i`` is ``render_scene(first_seed_of_split + i, size)``.

    Seed ranges: train [0, 1e6), val [1e6, 1.1e6), test [1.1e6, 1.2e6); ``num`` defaults to 1000/200/200.
    """

    def __init__(self, split: str = 'train', size=(224, 224), num: int | None = None):
        if split not in SPLITS:
            raise ValueError(f'dense/scenes/render.py: unknown split {split!r}; use one of {sorted(SPLITS)}')
        self.split, self.size = split, _check_size(size)
        first, last = SPLITS[split]
        self.num = DEFAULT_NUM[split] if num is None else int(num)
        if not 0 < self.num <= last - first:
            raise ValueError(f'dense/scenes/render.py: num must be in 1..{last - first} for {split!r}, got {num!r}')
        self.seeds = range(first, first + self.num)

    def __len__(self) -> int:
        return self.num

    def __getitem__(self, index: int) -> Scene:
        if not -self.num <= index < self.num:
            raise IndexError(f'scene index {index} out of range for {self.num} {self.split} scenes')
        return render_scene(self.seeds[index], self.size)
