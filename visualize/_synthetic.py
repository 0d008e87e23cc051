"""Synthetic images and patch features with known structure, for tests and examples without an encoder.

Each image is a soft background with a few coloured shapes; each patch's feature is the embedding of the
shape (or background) it mostly covers plus a smooth positional term and noise, so similarity and PCA
maps have a known right answer (patches of the same shape are most similar).
"""
from __future__ import annotations

import cv2
import numpy as np


def synthetic_batch(n: int = 3, size: tuple[int, int] = (96, 128), patch: int = 8, channels: int = 32,
                    layers=(2, 5), seed: int = 0) -> tuple[np.ndarray, dict[int, np.ndarray], np.ndarray]:
    """Images, per-layer features and per-pixel shape labels.

    Returns:
        ``(images uint8 (n, H, W, 3), {layer: float32 (n, C, H/patch, W/patch)}, labels uint8 (n, H, W))``
        where label 0 is background and 1..3 are shapes (disc, square, triangle).
    """
    rng = np.random.default_rng(seed)
    height, width = size
    palette = np.array([[230, 200, 60], [40, 140, 220], [210, 60, 70]], np.uint8)
    images = np.empty((n, height, width, 3), np.uint8)
    labels = np.zeros((n, height, width), np.uint8)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    for i in range(n):
        bg = np.stack([150 + 60 * yy, 170 + 40 * xx, 140 + 30 * (1 - yy)], -1)
        images[i] = bg.clip(0, 255).astype(np.uint8)
        _draw_shapes(images[i], labels[i], palette, rng)
    h, w = height // patch, width // patch
    cover = np.stack([cv2.resize((labels == k).astype(np.float32).transpose(1, 2, 0), (w, h),
                                 interpolation=cv2.INTER_AREA).reshape(h, w, n) for k in range(4)], 0)
    cover = cover.transpose(3, 0, 1, 2)  # n, 4, h, w
    features = {}
    for depth, layer in enumerate(layers):
        emb = rng.normal(size=(channels, 4)).astype(np.float32)
        pos = rng.normal(size=(channels, 2)).astype(np.float32)
        grid = np.stack(np.mgrid[0:h, 0:w] / max(h, w), 0).astype(np.float32)
        f = np.einsum('ck,nkhw->nchw', emb, cover) + 0.5 * np.einsum('cd,dhw->chw', pos, grid)[None]
        noise = (0.15 + 0.1 * depth) * rng.normal(size=f.shape).astype(np.float32)
        features[layer] = (f + noise).astype(np.float32)
    return images, features, labels


def _draw_shapes(image: np.ndarray, label: np.ndarray, palette: np.ndarray, rng) -> None:
    """Draw a disc, a square and a triangle at random places (in place)."""
    height, width = label.shape
    s = min(height, width)
    cx, cy, r = int(rng.uniform(0.25, 0.45) * width), int(rng.uniform(0.3, 0.7) * height), int(0.2 * s)
    cv2.circle(image, (cx, cy), r, palette[0].tolist(), -1, cv2.LINE_AA)
    cv2.circle(label, (cx, cy), r, 1, -1)
    x0, y0, a = int(rng.uniform(0.55, 0.7) * width), int(rng.uniform(0.1, 0.4) * height), int(0.28 * s)
    cv2.rectangle(image, (x0, y0), (x0 + a, y0 + a), palette[1].tolist(), -1)
    cv2.rectangle(label, (x0, y0), (x0 + a, y0 + a), 2, -1)
    tri = np.array([[0.55, 0.95], [0.95, 0.95], [0.75, 0.65]]) * [width, height]
    tri = tri.astype(np.int32)
    cv2.fillPoly(image, [tri], palette[2].tolist(), cv2.LINE_AA)
    cv2.fillPoly(label, [tri], 3)
