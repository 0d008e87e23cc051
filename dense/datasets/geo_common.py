"""Shared readers and transforms for the depth / normals data sets (NYUv2, NAVI, embedded scenes).

A sample is a dict in the layout of CONTRACTS.md without the batch axis: ``image`` float32 ``[3, H, W]`` in
[0, 1], ``depth`` float32 ``[H, W]`` metres (0 = invalid), ``normals`` float32 ``[3, H, W]`` unit (all-zero =
invalid) and ``meta`` (a dict); ``dense.datasets.common.collate`` stacks samples into a batch and
``dense.datasets.common.augment`` resizes / augments them.

Validity is decided here, once: depth that is not finite, <= 0 or beyond the data set's ``max_depth`` becomes 0;
a normal that is not finite, whose depth is invalid, or whose length is far from 1 (< 0.5 or > 1.5, i.e. not a
normal at all) becomes all-zero; the remaining normals are renormalised to unit length.
"""
from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image

MIN_NORMAL_LEN, MAX_NORMAL_LEN = 0.5, 1.5


def read_depth_png(path: str, scale: float = 1000.0) -> np.ndarray:
    """Depth in metres from a 16-bit PNG storing ``depth * scale`` (NYUv2 mmseg layout and NAVI: millimetres)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: depth map not found; every image needs a depth map of the same stem')
    with Image.open(path) as im:
        arr = np.asarray(im)
    if arr.dtype != np.uint16 and arr.dtype != np.int32:
        raise ValueError(f'{path}: depth PNG must be 16-bit (millimetres), got {arr.dtype} mode {im.mode}; '
                         f'an 8-bit PNG is a visualisation, not a depth map')
    if arr.ndim != 2:
        raise ValueError(f'{path}: depth PNG must have one channel, got shape {arr.shape}')
    return arr.astype(np.float32) / scale


def clean_depth(depth: np.ndarray | torch.Tensor, max_depth: float | None = None) -> torch.Tensor:
    """float32 metres with every non-finite, non-positive or too-deep value set to 0 (invalid)."""
    d = torch.as_tensor(np.asarray(depth, dtype=np.float32)).clone()
    bad = ~torch.isfinite(d) | (d <= 0)
    if max_depth is not None:
        bad |= d > max_depth
    d[bad] = 0
    return d


def clean_normals(normals: np.ndarray | torch.Tensor, depth: torch.Tensor | None = None) -> torch.Tensor:
    """``[3, H, W]`` unit normals; invalid pixels (see module docstring) all-zero."""
    n = torch.as_tensor(np.asarray(normals, dtype=np.float32)).clone()
    if n.ndim != 3 or n.shape[0] != 3:
        raise ValueError(f'normals must be [3, H, W], got {tuple(n.shape)}')
    length = n.norm(dim=0)
    valid = torch.isfinite(n).all(0) & (length > MIN_NORMAL_LEN) & (length < MAX_NORMAL_LEN)
    if depth is not None:
        valid &= depth > 0
    n = torch.where(valid, n / length.clamp_min(1e-6), torch.zeros_like(n))
    return n


def center_crop(sample: dict, height: int, width: int) -> dict:
    """Crop every spatial entry of ``sample`` to the central ``height x width`` window."""
    h, w = sample['image'].shape[-2:]
    if height > h or width > w:
        raise ValueError(f'{sample["meta"].get("img_path", "sample")}: cannot centre-crop {h}x{w} to '
                         f'{height}x{width}')
    top, left = (h - height) // 2, (w - width) // 2
    out = {k: v[..., top:top + height, left:left + width] if torch.is_tensor(v) else v for k, v in sample.items()}
    out['meta'] = dict(sample['meta'], crop=(top, left, height, width))
    return out


def normals_from_depth(depth: torch.Tensor, fx: float, fy: float, cx: float, cy: float) -> torch.Tensor:
    """Unit normals ``[3, H, W]`` (camera frame: x right, y down, z forward; facing the camera: n . p < 0).

    Back-projects each pixel to ``p = ((u - cx) z / fx, (v - cy) z / fy, z)`` and takes the cross product of
    the central differences along u and v; pixels whose 4 neighbours are not all valid get all-zero.
    """
    h, w = depth.shape
    v, u = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                          indexing='ij')
    p = torch.stack([(u - cx) * depth / fx, (v - cy) * depth / fy, depth])
    du = torch.zeros_like(p)
    dv = torch.zeros_like(p)
    du[:, :, 1:-1] = p[:, :, 2:] - p[:, :, :-2]
    dv[:, 1:-1, :] = p[:, 2:, :] - p[:, :-2, :]
    n = torch.cross(du, dv, dim=0)
    n = n * torch.where((n * p).sum(0) > 0, -1.0, 1.0)  # orient towards the camera
    valid = depth > 0
    ok = torch.zeros_like(valid)
    ok[1:-1, 1:-1] = (valid[1:-1, 1:-1] & valid[1:-1, 2:] & valid[1:-1, :-2] & valid[2:, 1:-1] & valid[:-2, 1:-1])
    return clean_normals(n / n.norm(dim=0).clamp_min(1e-12), depth * ok)
