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


def read_png16(path: str) -> np.ndarray:
    """The raw values of a single-channel 16-bit PNG (a depth map), unmodified."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: depth map not found; every image needs a depth map of the same stem')
    with Image.open(path) as im:
        arr = np.asarray(im)
    if arr.dtype != np.uint16 and arr.dtype != np.int32:
        raise ValueError(f'{path}: depth PNG must be 16-bit, got {arr.dtype} mode {im.mode}; '
                         f'an 8-bit PNG is a visualisation, not a depth map')
    if arr.ndim != 2:
        raise ValueError(f'{path}: depth PNG must have one channel, got shape {arr.shape}')
    return arr


def read_depth_png(path: str, scale: float = 1000.0) -> np.ndarray:
    """Depth in metres from a 16-bit PNG storing ``depth * scale`` (NYUv2 mmseg layout: millimetres)."""
    return read_png16(path).astype(np.float32) / scale


NAVI_DISPARITY_SCALE = 65535 * 10.0  # Probe3D evals/datasets/utils.py read_depth: (2**16 - 1) * scale_factor 10


def navi_depth_from_disparity(raw: np.ndarray) -> np.ndarray:
    """Metres from NAVI's 16-bit depth PNG values, which store a scaled *disparity*.

    Follows Probe3D ``evals/datasets/utils.py: read_depth`` then ``navi.py: get_single`` (``/ 1000``):
    ``disparity = value / (65535 * 10)``, ``depth_mm = 1 / disparity``, value 0 = invalid (depth 0 here), metres =
    ``depth_mm / 1000``. Computed in float64, returned as float32.
    """
    raw = np.asarray(raw, dtype=np.float64)
    depth_mm = np.divide(NAVI_DISPARITY_SCALE, raw, out=np.zeros_like(raw), where=raw > 0)
    return (depth_mm / 1000.0).astype(np.float32)


def read_navi_depth(path: str) -> np.ndarray:
    """Metres (0 = invalid) from a NAVI depth PNG (see :func:`navi_depth_from_disparity`)."""
    return navi_depth_from_disparity(read_png16(path))


def clean_depth(depth: np.ndarray | torch.Tensor, max_depth: float | None = None) -> torch.Tensor:
    """float32 metres with every non-finite, non-positive or too-deep value set to 0 (invalid)."""
    d = torch.as_tensor(np.asarray(depth, dtype=np.float32)).clone()
    bad = ~torch.isfinite(d) | (d <= 0)
    if max_depth is not None:
        bad |= d > max_depth
    d[bad] = 0
    return d


def clean_normals(normals: np.ndarray | torch.Tensor, depth: torch.Tensor | None = None,
                  source: str = 'normals') -> torch.Tensor:
    """``[3, H, W]`` unit normals; invalid pixels (see module docstring) all-zero.

    A map whose given (finite, non-zero) normals are mostly not unit length is an error naming ``source``: it is
    another encoding (e.g. 0-255 colours), which would otherwise become all invalid and train nothing.
    """
    n = torch.as_tensor(np.asarray(normals, dtype=np.float32)).clone()
    if n.ndim != 3 or n.shape[0] != 3:
        raise ValueError(f'{source}: normals must be [3, H, W], got {tuple(n.shape)}')
    length = n.norm(dim=0)
    given = torch.isfinite(n).all(0) & (length > 0)
    valid = given & (length > MIN_NORMAL_LEN) & (length < MAX_NORMAL_LEN)
    if given.sum() and valid.sum() < 0.5 * given.sum():
        raise ValueError(f'{source}: {1 - valid.sum() / given.sum():.0%} of the normals are not unit vectors '
                         f'(median length {length[given].median():.3g}); expected unit normals (all-zero = invalid)')
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


def early_color_jitter(sample: dict, augment_cfg: dict | None) -> tuple[dict, dict | None]:
    """Apply ``augment_cfg['color_jitter']`` now (Probe3D jitters the whole frame before its crops, so the
    contrast mean is the frame's) and return the sample with the rest of the options."""
    if not augment_cfg or 'color_jitter' not in augment_cfg:
        return sample, augment_cfg
    from dense.datasets.common import augment
    rest = {k: v for k, v in augment_cfg.items() if k != 'color_jitter'}
    return augment(sample, color_jitter=augment_cfg['color_jitter']), rest or None


def finish_geo_sample(sample: dict, augment_cfg: dict | None, image_size) -> dict:
    """Training augmentation (if any), then the resize of the image alone to ``image_size`` (labels, and so the
    metrics, keep their size), in training as in evaluation: a probe fed at the encoder's native size (SigLIP 2
    paper configs) sees that size in both."""
    from dense.datasets.common import augment
    from dense.datasets.segmentation import finish_sample
    if augment_cfg is not None:
        sample = augment(sample, **augment_cfg)
    return finish_sample(sample, None, image_size)


PROBE3D_FAR = 1e6  # Probe3D compute_normal: "if missing depth (depth = 0), make it very far"


def probe3d_normals(depth: torch.Tensor, focal: float) -> torch.Tensor:
    """Normals ``[3, H, W]`` from depth exactly as Probe3D builds NAVI's (``evals/datasets/utils.py:
    compute_normal``), in this suite's sign convention.

    Probe3D back-projects pixel centres with the focal length alone (no principal point: ``K = diag(f, f, 1)``, so
    ``p = ((j + 0.5) z / f, (i + 0.5) z / f, z)`` in the coordinates of the map it is given, i.e. after its resize
    and box crop), pushes missing depth to 1e6 m, averages the four cross products of the differences to the
    left / top / right / bottom neighbours, normalises, and zeroes pixels without depth. Border pixels get a zero
    vector yet count as valid (depth > 0) in Probe3D's metrics. Its cross products point away from the camera
    (+z for a fronto-parallel plane); this function returns the negation, facing the camera (z < 0) as in
    docs/CONTRACTS.md: angular errors are the same.
    """
    depth = depth.to(torch.float32)
    h, w = depth.shape
    valid = depth > 0
    z = torch.where(valid, depth, torch.full_like(depth, PROBE3D_FAR))
    v, u = torch.meshgrid(torch.arange(h, dtype=torch.float32) + 0.5, torch.arange(w, dtype=torch.float32) + 0.5,
                          indexing='ij')
    p = torch.stack([u * z / focal, v * z / focal, z])
    centre = p[:, 1:-1, 1:-1]
    left, top = p[:, 1:-1, :-2] - centre, p[:, :-2, 1:-1] - centre
    right, bottom = p[:, 1:-1, 2:] - centre, p[:, 2:, 1:-1] - centre
    pairs = ((left, top), (top, right), (right, bottom), (bottom, left))
    n = torch.zeros_like(p)
    n[:, 1:-1, 1:-1] = sum(torch.linalg.cross(a, b, dim=0) for a, b in pairs) / 4.0
    n = torch.nn.functional.normalize(n, p=2, dim=0)
    return -n * valid
