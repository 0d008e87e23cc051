"""Procedural textures and Blinn-Phong shading (Lambert + ambient + specular, hard shadows) for the scenes."""
from __future__ import annotations

import numpy as np


def value_noise(p: np.ndarray, seed: int) -> np.ndarray:
    """Smooth value noise in [0, 1] at points (P, D), D in {2, 3}: hashed lattice values, smoothstep-interpolated."""
    cell = np.floor(p)
    frac = p - cell
    w = frac * frac * (3 - 2 * frac)
    primes = np.array([12.9898, 78.233, 37.719])[: p.shape[1]]
    out = np.zeros(len(p))
    for corner in np.ndindex(*(2,) * p.shape[1]):
        offset = np.array(corner, dtype=float)
        value = np.sin((cell + offset) @ primes + seed % 1000) * 43758.5453
        value -= np.floor(value)
        weight = np.prod(np.where(offset > 0, w, 1 - w), axis=1)
        out += weight * value
    return out


def pattern(kind: str, p: np.ndarray, scale: float, seed: int) -> np.ndarray:
    """Texture pattern in [0, 1] at points (P, D) for ``kind`` in plain/stripes/checker/noise."""
    q = p * scale
    if kind == 'plain':
        return np.zeros(len(p))
    if kind == 'stripes':
        return (np.floor(q[:, 0] + 0.5 * q[:, -1]) % 2).astype(float)
    if kind == 'checker':
        return (np.floor(q).sum(1) % 2).astype(float)
    if kind == 'noise':
        return value_noise(q * 0.7, seed)
    raise ValueError(f'dense/scenes/shading.py: unknown texture {kind!r}; use plain, stripes, checker or noise')


def shade(albedo: np.ndarray, normal: np.ndarray, view: np.ndarray, light: np.ndarray, lit: np.ndarray,
          ambient: float, specular: float, shininess: float) -> np.ndarray:
    """Blinn-Phong colour (P, 3) in 0..255 from albedo (P, 3), unit normals and view rays (P, 3), light (3,).

    ``lit`` (P,) is 1 where the point sees the light and 0 in shadow; ``view`` points from the camera to the point.
    """
    lambert = np.clip(normal @ light, 0, None) * lit
    half = light - view / np.linalg.norm(view, axis=1, keepdims=True)
    half /= np.linalg.norm(half, axis=1, keepdims=True)
    highlight = specular * 255 * np.clip((normal * half).sum(1), 0, None) ** shininess * lit * (lambert > 0)
    return albedo * (ambient + (1 - ambient) * lambert)[:, None] + highlight[:, None]
