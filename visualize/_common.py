"""Shared pieces of the figure modules: input checks, paper style, atomic PNG/PDF writing."""
from __future__ import annotations

import functools
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from dense.io import atomic_path

# One look for every figure: small consistent sans fonts, no top/right spines, tight boxes.
PAPER_STYLE = {
    'font.family': 'DejaVu Sans',
    'font.size': 8,
    'axes.titlesize': 8,
    'axes.labelsize': 8,
    'xtick.labelsize': 7,
    'ytick.labelsize': 7,
    'legend.fontsize': 7,
    'legend.frameon': False,
    'axes.spines.top': False,
    'axes.spines.right': False,
    'axes.linewidth': 0.6,
    'lines.linewidth': 1.2,
    'figure.dpi': 100,
    'savefig.dpi': 200,
    'image.interpolation': 'nearest',
}


@contextmanager
def paper_style() -> Iterator[None]:
    """Apply :data:`PAPER_STYLE` while figures are built (fonts are fixed at artist creation)."""
    with matplotlib.rc_context(PAPER_STYLE):
        yield


def styled(draw: Callable) -> Callable:
    """Decorator: build the whole figure under :data:`PAPER_STYLE` (rc values are read when artists are made)."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with paper_style():
            return draw(*args, **kwargs)
    return wrapper


def new_figure(width: float, height: float) -> Figure:
    """A pyplot-free figure (no global state, no GUI backend); call inside :func:`paper_style`."""
    return Figure(figsize=(width, height), layout='constrained')


def hide_axis(ax) -> None:
    """Image panels: no ticks, no frame."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def save_figure(fig: Figure, path: str | os.PathLike, pdf: bool = False) -> list[Path]:
    """Write ``fig`` as PNG (and PDF) atomically: a temp file in the same directory, then ``os.replace``.

    Args:
        fig: The figure.
        path: Target path; its suffix is replaced by ``.png`` (and ``.pdf``). Parent dirs are created.
        pdf: Also write a vector PDF next to the PNG.

    Returns:
        The written paths.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with paper_style():
        for fmt in ('png', 'pdf') if pdf else ('png',):
            target = path.with_suffix('.' + fmt)
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=fmt, bbox_inches='tight', pad_inches=0.02, facecolor='white')
            written.append(target)
    return written


def short_name(name: str, width: int = 22) -> str:
    """A file name cut to ``width`` characters (middle elided) for a panel label."""
    return name if len(name) <= width else f'{name[:width // 2 - 1]}…{name[-(width // 2):]}'


def as_numpy(x) -> np.ndarray:
    """A torch tensor or array-like as a numpy array (no copy when possible)."""
    if hasattr(x, 'detach'):
        x = x.detach().float().cpu().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
    return np.asarray(x)


def check_images(images, where: str = 'images') -> np.ndarray:
    """Validate ``uint8 (N, H, W, 3)`` images (a single ``(H, W, 3)`` image becomes N = 1)."""
    images = as_numpy(images)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f'{where}: expected uint8 images (N, H, W, 3), got shape {tuple(images.shape)}')
    if images.dtype != np.uint8:
        raise ValueError(f'{where}: expected dtype uint8 (0..255), got {images.dtype}; '
                         'convert with (x * 255).round().astype(np.uint8)')
    return images


def check_features(features: Mapping[int, object], images: np.ndarray | None = None,
                   layers=None) -> dict[int, np.ndarray]:
    """Validate per-layer features ``{layer: (N, C, h, w)}`` against the images and pick ``layers``.

    Raises:
        ValueError: a requested layer was not extracted, a feature map is not 4-D, or the number of
            images / the patch grid does not fit the images.
    """
    if not features:
        raise ValueError('features: empty; pass {layer: (N, C, h, w)} as written by FeatureExtractor')
    layers = sorted(features) if layers is None else [int(k) for k in layers]
    missing = [k for k in layers if k not in features]
    if missing:
        raise ValueError(f'features: layer(s) {missing} were not extracted; available layers: '
                         f'{sorted(features)} (extract them with FeatureExtractor(layers=...))')
    out = {}
    for k in layers:
        f = as_numpy(features[k]).astype(np.float32, copy=False)
        if f.ndim != 4:
            raise ValueError(f'features[{k}]: expected (N, C, h, w), got shape {tuple(f.shape)}')
        if images is not None:
            n, _, h, w = f.shape
            if n != len(images):
                raise ValueError(f'features[{k}] has {n} images but images has {len(images)}: '
                                 'pass the images the features were extracted from')
            if h > images.shape[1] or w > images.shape[2]:
                raise ValueError(f'features[{k}] grid {h}x{w} is larger than the images '
                                 f'{images.shape[1]}x{images.shape[2]}: features and images do not match')
        out[k] = f
    return out


def l2_normalize(x: np.ndarray, axis: int) -> np.ndarray:
    """Unit-length vectors along ``axis`` (zero vectors stay zero)."""
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, 1e-12)
