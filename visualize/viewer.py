"""A self-contained interactive HTML viewer of patch similarity (no server, no network).

Features are stored per image and layer as int8: each patch is L2-normalized, then all patches of one
image-layer share one scale ``s = max|x| / 127`` and ``q = round(x / s)``. The page computes
``cos(a, b) = q_a . q_b / (|q_a| |q_b|)`` (the scale cancels); :func:`viewer_similarity` is the same
computation in Python. Against the float cosine the error is at most ``QUANT_TOLERANCE`` (see there).

Size budget: each image-layer costs ``ceil(P * D / 3) * 4`` bytes of base64 (P patches, D = C or ``dims``),
each image its JPEG in base64, plus ``PAGE_BUDGET`` bytes for the page itself; :func:`build_viewer`
returns the measured size and that budget.
"""
from __future__ import annotations

import base64
import html
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from matplotlib import colormaps

from dense.io import write_bytes
from visualize._common import check_features, check_images, l2_normalize
from visualize._viewer_page import PAGE

PAGE_BUDGET = 16_000  # bytes of HTML/CSS/JS/LUT and JSON structure, independent of the data
# Max |float cosine - int8 cosine|: per-entry rounding error <= s/2 with s <= 1/127 gives, for the
# D-dim unit vectors we use in practice (D >= 16), errors below 0.02 (measured worst ~0.008 at D = 32).
QUANT_TOLERANCE = 0.02


@dataclass
class QuantizedLayer:
    """Attributes:
        q: int8 ``(N, h * w, D)`` quantized unit patch vectors (row-major patches).
        scale: float32 ``(N,)`` one scale per image (``x ~ q * scale``).
        grid: ``(h, w)``.
    """
    q: np.ndarray
    scale: np.ndarray
    grid: tuple[int, int]


@dataclass
class ViewerInfo:
    """Attributes:
        path: The written HTML file.
        size: Its size in bytes.
        budget: The size budget in bytes (module doc); ``size <= budget``.
        per_image_layer: Feature bytes (base64) per image and layer, by layer.
        error: Measured max |page similarity - float cosine| (:func:`measured_error`); below
            ``QUANT_TOLERANCE`` without ``dims``, larger with a strong ``dims`` reduction.
    """
    path: Path
    size: int
    budget: int
    per_image_layer: dict[int, int]
    error: float


def reduce_dims(unit: np.ndarray, dims: int) -> np.ndarray:
    """Project unit vectors ``(M, C)`` onto the top-``dims`` eigenvectors of their (uncentred) Gram matrix
    ``X^T X``, which best preserves dot products (eigenvector signs do not affect them); renormalize."""
    x = unit.astype(np.float64)
    _, vecs = np.linalg.eigh(x.T @ x)  # ascending eigenvalues
    return l2_normalize(x @ vecs[:, ::-1][:, :dims], axis=1).astype(np.float32)


def quantize_features(features, dims: int | None = None) -> dict[int, QuantizedLayer]:
    """Quantize ``{layer: (N, C, h, w)}`` to int8 unit vectors (module doc); optionally reduce to ``dims``."""
    out = {}
    for layer, f in check_features(features).items():
        n, c, h, w = f.shape
        unit = l2_normalize(f.transpose(0, 2, 3, 1).reshape(n * h * w, c), axis=1)
        if dims is not None and dims < c:
            unit = reduce_dims(unit, dims)
        unit = unit.reshape(n, h * w, -1)
        scale = np.maximum(np.abs(unit).max(axis=(1, 2)), 1e-12) / 127.0
        q = np.clip(np.round(unit / scale[:, None, None]), -127, 127).astype(np.int8)
        out[layer] = QuantizedLayer(q, scale.astype(np.float32), (h, w))
    return out


def viewer_similarity(layer: QuantizedLayer, image_index: int, row: int, col: int) -> np.ndarray:
    """What the page shows for a click: float32 ``(N, h, w)`` cosine of the int8 vectors."""
    h, w = layer.grid
    if not (0 <= row < h and 0 <= col < w and 0 <= image_index < len(layer.q)):
        raise ValueError(f'viewer query (image {image_index}, row {row}, col {col}) outside the '
                         f'{len(layer.q)} images / {h}x{w} grid')
    q = layer.q.astype(np.float64)
    norms = np.linalg.norm(q, axis=-1)
    norms[norms == 0] = 1.0
    sims = (q @ q[image_index, row * w + col]) / (norms * norms[image_index, row * w + col])
    return sims.reshape(len(q), h, w).astype(np.float32)


def colour_lut(cmap: str = 'magma') -> np.ndarray:
    """uint8 ``(256, 3)`` colour table the page uses (index = round(t * 255), t in [0, 1])."""
    return (colormaps[cmap](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def _encode_image(image: np.ndarray, max_side: int, quality: int) -> dict:
    """JPEG data URL of the image (longer side at most ``max_side``) and its display size (longer side
    ``max_side``: small images are scaled up by the browser)."""
    height, width = image.shape[:2]
    f = max_side / max(height, width)
    if f < 1:
        image = cv2.resize(image, (round(width * f), round(height * f)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode('.jpg', cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError('viewer: JPEG encoding of an image failed')
    return {'src': 'data:image/jpeg;base64,' + base64.b64encode(buf.tobytes()).decode(),
            'width': round(width * f), 'height': round(height * f)}


def viewer_html(images: np.ndarray, quant: dict[int, QuantizedLayer], names=None, max_side: int = 320,
                quality: int = 88, cmap: str = 'magma', title: str = 'Patch similarity', subtitle: str = '',
                initial: tuple[int, int, int] | None = None) -> tuple[str, int]:
    """The page for checked uint8 images and quantized features, and its total base64 image bytes.

    ``subtitle`` (e.g. the encoder and feature file) is shown under the title; ``initial`` = ``(image, row,
    col)`` is the query patch whose map shows before any hover (default: the centre of the first image, on the
    last layer's grid)."""
    names = [f'image {i}' for i in range(len(images))] if names is None else [str(n) for n in names]
    if len(names) != len(images):
        raise ValueError(f'viewer: {len(names)} names for {len(images)} images')
    last = quant[list(quant)[-1]].grid
    image, row, col = initial if initial is not None else (0, last[0] // 2, last[1] // 2)
    data = {'images': [], 'layers': [], 'features': {}, 'lut': colour_lut(cmap).reshape(-1).tolist(),
            'initial': {'image': int(image), 'row': int(row), 'col': int(col)}}
    for name, image in zip(names, images):
        data['images'].append({'name': name, **_encode_image(image, max_side, quality)})
    for layer, ql in quant.items():
        data['layers'].append({'id': layer, 'h': ql.grid[0], 'w': ql.grid[1], 'dim': ql.q.shape[-1]})
        data['features'][str(layer)] = base64.b64encode(ql.q.tobytes()).decode()
    blob = json.dumps(data, separators=(',', ':')).replace('<', '\\u003c')
    page = PAGE.replace('__TITLE__', html.escape(title)).replace('__SUBTITLE__', html.escape(subtitle))
    page = page.replace('__DATA__', blob)
    return page, sum(len(im['src']) for im in data['images'])


def measured_error(features: dict[int, np.ndarray], quant: dict[int, QuantizedLayer], queries: int = 16,
                   seed: int = 0) -> float:
    """Max |page similarity - float cosine| over ``queries`` random query patches per layer (fixed seed)."""
    rng, worst = np.random.default_rng(seed), 0.0
    for layer, f in features.items():
        n, _, h, w = f.shape
        unit = l2_normalize(f, axis=1)
        for k in rng.choice(n * h * w, size=min(queries, n * h * w), replace=False):
            i, row, col = np.unravel_index(k, (n, h, w))
            exact = np.einsum('nchw,c->nhw', unit, unit[i, :, row, col])
            worst = max(worst, float(np.abs(viewer_similarity(quant[layer], i, row, col) - exact).max()))
    return worst


def build_viewer(images, features, path: str | os.PathLike, names=None, dims: int | None = None,
                 **page_options) -> ViewerInfo:
    """Write the viewer HTML atomically; return its size, budget and measured error.

    Args:
        images: uint8 ``(N, H, W, 3)``.
        features: ``{layer: (N, C, h, w)}``.
        path: Output ``.html`` path.
        names: Image names shown in the page.
        dims: Reduce features to this many dims (smaller file; see :func:`reduce_dims`); None keeps all.
        **page_options: ``max_side`` (longer side of the shown images), ``quality`` (JPEG), ``cmap``, ``title``,
            ``subtitle``, ``initial`` (see :func:`viewer_html`).

    Returns:
        A :class:`ViewerInfo`.
    """
    images = check_images(images)
    feats = check_features(features, images)
    quant = quantize_features(feats, dims)
    page, image_bytes = viewer_html(images, quant, names, **page_options)
    path = write_bytes(path, page.encode('utf-8'))
    per_image_layer = {layer: math.ceil(ql.q[0].size / 3) * 4 for layer, ql in quant.items()}
    budget = PAGE_BUDGET + image_bytes + len(images) * sum(per_image_layer.values())
    return ViewerInfo(path, path.stat().st_size, budget, per_image_layer, measured_error(feats, quant))
