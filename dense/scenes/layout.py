"""Random scene layouts: camera pose, objects on the ground, materials and light, all drawn from one seed.

Shape (the semantic class), colour, texture, size word, pose and lighting are drawn independently, so colour and
size say nothing about the class and only shape separates the classes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dense.scenes.geometry import PRIMITIVES

CLASS_NAMES = ('ground', 'sphere', 'box', 'cylinder', 'cone', 'capsule')
COLORS = {'red': (200, 40, 40), 'green': (40, 160, 60), 'blue': (45, 75, 210), 'yellow': (225, 205, 45),
          'purple': (135, 55, 175), 'orange': (235, 125, 35), 'cyan': (45, 185, 195), 'white': (228, 228, 228)}
SIZES = {'small': (0.2, 0.33), 'large': (0.45, 0.7)}
TEXTURES = ('plain', 'stripes', 'checker', 'noise')
MAX_DEPTH = 55.0  # metres; keeps depth inside the 16-bit millimetre range of the NYU layout


@dataclass(frozen=True)
class Camera:
    """Pinhole camera at (0, height, 0) looking down by ``pitch`` with ``roll``; ``fov`` spans max(H, W)."""
    height: float
    pitch: float
    roll: float
    fov: float

    def rotation(self) -> np.ndarray:
        """(3, 3) matrix whose columns are the camera x (right), y (down), z (forward) axes in world coordinates."""
        cp, sp, cr, sr = np.cos(self.pitch), np.sin(self.pitch), np.cos(self.roll), np.sin(self.roll)
        right, down, fwd = np.array([1.0, 0, 0]), np.array([0, -cp, -sp]), np.array([0, -sp, cp])
        return np.stack([cr * right + sr * down, -sr * right + cr * down, fwd], axis=1)

    def focal(self, size: tuple[int, int]) -> float:
        return max(size) / 2 / np.tan(self.fov / 2)

    def rays(self, size: tuple[int, int]) -> np.ndarray:
        """Per-pixel ray directions (H*W, 3) in the camera frame with z = 1, through the pixel centres."""
        h, w = size
        f = self.focal(size)
        v, u = np.meshgrid((np.arange(h) + 0.5 - h / 2) / f, (np.arange(w) + 0.5 - w / 2) / f, indexing='ij')
        return np.stack([u.ravel(), v.ravel(), np.ones(h * w)], -1)

    @property
    def origin(self) -> np.ndarray:
        return np.array([0.0, self.height, 0.0])


@dataclass(frozen=True)
class SceneObject:
    """One primitive and its appearance."""
    category: str
    shape: object
    color: str
    size: str
    texture: str
    tex_scale: float
    tex_strength: float


@dataclass(frozen=True)
class Layout:
    """Everything a render needs; independent of the output resolution."""
    camera: Camera
    wall_z: float
    objects: tuple[SceneObject, ...]
    light: np.ndarray          # unit vector towards the light, world frame
    ambient: float
    specular: float
    shininess: float
    ground: dict               # texture, colours and scale of the ground
    sky: tuple[np.ndarray, np.ndarray]
    noise_seed: int


def _shape(rng: np.random.Generator, category: str, x: float, z: float, s: float):
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    if category == 'sphere':
        return PRIMITIVES[category](x, z, s)
    if category == 'box':
        return PRIMITIVES[category](x, z, s * u(0.7, 1.1), s * u(0.6, 1.2), s * u(0.7, 1.1), u(0, np.pi))
    if category == 'cylinder':
        return PRIMITIVES[category](x, z, s * u(0.6, 0.9), s * u(1.2, 2.4))
    if category == 'cone':
        return PRIMITIVES[category](x, z, s * u(0.7, 1.0), s * u(1.6, 2.8))
    return PRIMITIVES[category](x, z, s * u(0.4, 0.6), s * u(0.6, 1.1), u(0, np.pi))


def _footprint(shape) -> float:
    """Radius of a vertical cylinder around the shape, for keeping objects apart."""
    if hasattr(shape, 'ex'):
        return float(np.hypot(shape.ex, shape.ez))
    if hasattr(shape, 'half_len'):
        return shape.half_len + shape.r
    return shape.r


def _ground_point(rng: np.random.Generator, camera: Camera, wall_z: float) -> tuple[float, float] | None:
    """A random ground point seen in the lower part of the frame, or None when the ray misses the ground."""
    half = np.tan(camera.fov / 2)
    ray = camera.rotation() @ np.array([rng.uniform(-0.8, 0.8) * half, rng.uniform(-0.1, 0.8) * half, 1.0])
    if ray[1] >= -1e-3:
        return None
    t = camera.height / -ray[1]
    x, z = t * ray[0], t * ray[2]
    return (x, z) if 1.0 < z < wall_z - 2.0 else None


def _place_objects(rng: np.random.Generator, camera: Camera, wall_z: float) -> tuple[SceneObject, ...]:
    objects, placed = [], []
    for _ in range(int(rng.integers(3, 8))):
        category = CLASS_NAMES[1 + int(rng.integers(len(CLASS_NAMES) - 1))]
        color, size = str(rng.choice(list(COLORS))), str(rng.choice(list(SIZES)))
        texture = str(rng.choice(TEXTURES))
        scale = float(rng.uniform(*SIZES[size]))
        tex_scale, tex_strength = float(rng.uniform(3, 9)), float(rng.uniform(0.25, 0.45))
        for _ in range(20):
            point = _ground_point(rng, camera, wall_z)
            if point is None:
                continue
            shape = _shape(rng, category, *point, scale)
            if all(np.hypot(shape.x - o.x, shape.z - o.z) > _footprint(shape) + _footprint(o) + 0.05 for o in placed):
                placed.append(shape)
                objects.append(SceneObject(category, shape, color, size, texture, tex_scale, tex_strength))
                break
    return tuple(objects)


def sample_layout(seed: int) -> Layout:
    """Draw a scene layout from ``seed`` (numpy PCG64: the same seed gives the same scene everywhere)."""
    rng = np.random.default_rng(seed)
    camera = Camera(height=float(rng.uniform(1.2, 3.0)), pitch=float(np.radians(rng.uniform(12, 42))),
                    roll=float(np.radians(rng.uniform(-8, 8))), fov=float(np.radians(rng.uniform(45, 75))))
    half = np.tan(camera.fov / 2)  # the image spans at most [-half, half] in both normalized coordinates
    corners = camera.rotation() @ np.array([[sx * half, sy * half, 1.0] for sx in (-1, 1) for sy in (-1, 1)]).T
    # z-depth of the wall is wall_z / (forward component of the ray): bound it by MAX_DEPTH at every corner
    wall_z = float(min(rng.uniform(12, 22), MAX_DEPTH * corners[2].min()))
    elevation, azimuth = np.radians(rng.uniform(25, 75)), rng.uniform(0, 2 * np.pi)
    light = np.array([np.cos(elevation) * np.cos(azimuth), np.sin(elevation), np.cos(elevation) * np.sin(azimuth)])
    ground = {'texture': str(rng.choice(TEXTURES)), 'color_a': rng.uniform(40, 220, 3),
              'color_b': rng.uniform(40, 220, 3), 'scale': float(rng.uniform(0.3, 2.0))}
    sky = (rng.uniform(120, 255, 3), rng.uniform(60, 230, 3))
    return Layout(camera=camera, wall_z=wall_z, objects=_place_objects(rng, camera, wall_z), light=light,
                  ambient=float(rng.uniform(0.25, 0.45)), specular=float(rng.uniform(0.0, 0.4)),
                  shininess=float(rng.uniform(15, 60)), ground=ground, sky=sky,
                  noise_seed=int(rng.integers(2 ** 31)))
