"""PCA maps of patch features (the DINOv2 figure): the first three principal components as RGB.

Components are fitted jointly over all patches of a batch of images (Oquab et al., 2023, Fig. 1), so the
same colour means the same feature direction across images.

Determinism: SVD returns each component up to sign. We fix the sign so that the projections onto the
component have non-negative skewness (the long tail, usually the smaller foreground region, gets high
values); when the skewness is ~0 (|skew| < 1e-6), the loading entry with the largest magnitude is made
positive. Same input, same picture.

Foreground mask (optional): patches whose first-component score, standardized over the batch
(zero mean, unit variance), exceeds ``fg_threshold`` (default 0.0, i.e. above the batch mean). With a
mask, the three colour components are refitted on foreground patches only and background is black.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from visualize._common import check_features, check_images, hide_axis, new_figure, short_name, styled
from visualize.similarity import upsample


@dataclass
class PCAResult:
    """Attributes:
        rgb: float32 ``(N, h, w, 3)`` in [0, 1] (robust 1st-99th percentile scaling per component).
        mask: bool ``(N, h, w)`` foreground, or None.
        components: float32 ``(3, C)`` sign-fixed unit components used for the colours.
        explained: Fraction of variance explained by each of the three components.
        threshold: The foreground threshold used (None without mask).
    """
    rgb: np.ndarray
    mask: np.ndarray | None
    components: np.ndarray
    explained: np.ndarray
    threshold: float | None


def fit_components(x: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` principal components of rows of ``x`` with the deterministic sign rule (module doc).

    Returns:
        ``(mean (C,), components (k, C), explained variance ratio (k,))``, float64.
    """
    x = x.astype(np.float64)
    if x.shape[0] < 2:
        raise ValueError(f'PCA needs at least 2 patches, got {x.shape[0]}')
    mean = x.mean(0)
    centred = x - mean
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    k_eff = min(k, vt.shape[0])
    comps = vt[:k_eff].copy()
    scores = centred @ comps.T
    for i in range(k_eff):
        z = scores[:, i]
        skew = np.mean(z ** 3) / max(np.mean(z ** 2), 1e-30) ** 1.5
        sign = np.sign(skew) if abs(skew) > 1e-6 else np.sign(comps[i, np.argmax(np.abs(comps[i]))])
        comps[i] *= sign if sign != 0 else 1.0
    var = s ** 2
    explained = var[:k_eff] / max(var.sum(), 1e-30)
    if k_eff < k:  # fewer patches / channels than components: pad with zero components
        comps = np.vstack([comps, np.zeros((k - k_eff, x.shape[1]))])
        explained = np.concatenate([explained, np.zeros(k - k_eff)])
    return mean, comps, explained


def _to_unit(scores: np.ndarray) -> np.ndarray:
    """Scale each column to [0, 1] between its 1st and 99th percentile (robust to outlier patches)."""
    lo, hi = np.percentile(scores, [1, 99], axis=0)
    return np.clip((scores - lo) / np.maximum(hi - lo, 1e-12), 0, 1)


def pca_map(features, foreground: bool = False, fg_threshold: float = 0.0) -> PCAResult:
    """RGB map of the first three principal components of one layer's features, fitted jointly.

    Args:
        features: ``(N, C, h, w)`` features of one layer (tensor or array).
        foreground: Also compute a foreground mask from the first component (see module doc).
        fg_threshold: Threshold on the standardized first-component score.

    Returns:
        A :class:`PCAResult`.
    """
    f = check_features({0: features})[0]
    n, c, h, w = f.shape
    x = f.transpose(0, 2, 3, 1).reshape(-1, c)
    mean, comps, explained = fit_components(x)
    mask = None
    if foreground:
        first = (x - mean) @ comps[0]
        z = (first - first.mean()) / max(first.std(), 1e-12)
        mask = z > fg_threshold
        if mask.sum() >= 2:
            mean, comps, explained = fit_components(x[mask])
    rgb = np.zeros((x.shape[0], 3))
    sel = mask if mask is not None else slice(None)
    rgb[sel] = _to_unit((x[sel] - mean) @ comps.T)
    return PCAResult(rgb.reshape(n, h, w, 3).astype(np.float32),
                     None if mask is None else mask.reshape(n, h, w), comps.astype(np.float32),
                     explained.astype(np.float32), fg_threshold if foreground else None)


@styled
def draw_pca(images, result: PCAResult, layer: int | None = None, panel: float = 1.6,
             smooth: bool = False, names=None, max_cols: int = 6) -> Figure:
    """Images over their PCA colours (patch-exact by default, or bilinearly smoothed), at most ``max_cols``
    images a row (more wrap into further row pairs); ``names`` title the image panels."""
    images = check_images(images)
    if len(images) != len(result.rgb):
        raise ValueError(f'PCA map has {len(result.rgb)} images but images has {len(images)}')
    n, height, width = images.shape[:3]
    cols = min(n, max_cols)
    pairs = -(-n // cols)
    fig = new_figure(panel * cols, pairs * (2 * panel * height / width + 0.25) + 0.25)
    axes = fig.subplots(2 * pairs, cols, squeeze=False)
    for ax in axes.flat:
        hide_axis(ax)
        ax.set_visible(False)
    for i in range(n):
        top, bottom = axes[2 * (i // cols), i % cols], axes[2 * (i // cols) + 1, i % cols]
        top.imshow(images[i])
        bottom.imshow(upsample(result.rgb[i], (height, width), nearest=not smooth).clip(0, 1))
        top.set_visible(True)
        bottom.set_visible(True)
        if names is not None:
            top.set_title(short_name(str(names[i])), fontsize=7)
    for pair in range(pairs):
        axes[2 * pair, 0].set_ylabel('image')
        axes[2 * pair + 1, 0].set_ylabel('PCA (RGB = PC1-3)')
    pct = ', '.join(f'{100 * e:.0f}%' for e in result.explained)
    title = f'layer {layer}: ' if layer is not None else ''
    note = f'; foreground: PC1 z > {result.threshold:g}' if result.threshold is not None else ''
    fig.suptitle(f'{title}variance explained {pct}{note}', fontsize=8)
    return fig
