"""Patch-similarity maps: cosine similarity between one query patch and every patch of every image.

The probing literature (e.g. DINO / DINOv2 / Probe3D figures) shows dense features by picking a patch
and plotting its cosine similarity to all other patches; here per layer, over the query image and others.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from visualize._common import (check_features, check_images, hide_axis, l2_normalize, new_figure, short_name,
                               styled)


@dataclass
class SimilarityResult:
    """Cosine-similarity maps of one query patch.

    Attributes:
        maps: ``{layer: float32 (N, h, w)}`` cosine similarity in [-1, 1] at patch resolution.
        image_index: Index of the query image.
        patch: ``{layer: (row, col)}`` of the query patch in that layer's grid.
        image_size: ``(H, W)`` of the images the query refers to.
    """
    maps: dict[int, np.ndarray]
    image_index: int
    patch: dict[int, tuple[int, int]]
    image_size: tuple[int, int]


def query_patch(grid: tuple[int, int], image_size: tuple[int, int], pixel=None, patch=None) -> tuple[int, int]:
    """The ``(row, col)`` of the patch holding pixel ``(x, y)``, or a checked ``patch=(row, col)``.

    Raises:
        ValueError: the query lies outside the image / grid, or not exactly one of pixel / patch is given.
    """
    (h, w), (height, width) = grid, image_size
    if (pixel is None) == (patch is None):
        raise ValueError('query: give exactly one of pixel=(x, y) or patch=(row, col)')
    if pixel is not None:
        x, y = pixel
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f'query pixel (x={x}, y={y}) is outside the image of size {width}x{height} (WxH)')
        return int(y * h // height), int(x * w // width)
    row, col = (int(v) for v in patch)
    if not (0 <= row < h and 0 <= col < w):
        raise ValueError(f'query patch (row={row}, col={col}) is outside the {h}x{w} patch grid')
    return row, col


def patch_similarity(features, image_index: int = 0, pixel=None, patch=None, layers=None,
                     image_size: tuple[int, int] | None = None) -> SimilarityResult:
    """Cosine similarity of one patch of image ``image_index`` to all patches of all images, per layer.

    Args:
        features: ``{layer: (N, C, h, w)}`` tensors or arrays.
        image_index: The query image.
        pixel: Query as pixel ``(x, y)`` of an image of ``image_size``.
        patch: Query as patch ``(row, col)``.
        layers: Layers to use (default: all in ``features``).
        image_size: ``(H, W)`` for pixel queries (default: grid size, i.e. patch units).

    Returns:
        A :class:`SimilarityResult`; the query patch itself has similarity 1 (the maximum).
    """
    feats = check_features(features, layers=layers)
    maps, patches = {}, {}
    for layer, f in feats.items():
        n, _, h, w = f.shape
        if not 0 <= image_index < n:
            raise ValueError(f'query image index {image_index} is outside the {n} images')
        size = image_size or (h, w)
        row, col = query_patch((h, w), size, pixel=pixel, patch=patch)
        unit = l2_normalize(f, axis=1)
        maps[layer] = np.einsum('nchw,c->nhw', unit, unit[image_index, :, row, col]).astype(np.float32)
        patches[layer] = (row, col)
    first = next(iter(feats.values()))
    return SimilarityResult(maps, image_index, patches, tuple(image_size or first.shape[2:]))


def upsample(values: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """Resize a ``(h, w[, c])`` map to ``size=(H, W)`` (bilinear on pixel centres, or nearest)."""
    mode = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(values, dtype=np.float32), (size[1], size[0]), interpolation=mode)


def overlay_heatmap(image: np.ndarray, values: np.ndarray, cmap: str = 'magma', vmin: float = 0.0,
                    vmax: float = 1.0, alpha: float = 0.65) -> np.ndarray:
    """Blend a colour-mapped ``(h, w)`` map, upsampled to the image, over a grey copy of the image.

    Returns:
        uint8 ``(H, W, 3)``, the image's size.
    """
    image = check_images(image)[0]
    big = upsample(values, image.shape[:2])
    colours = colormaps[cmap](np.clip((big - vmin) / max(vmax - vmin, 1e-12), 0, 1))[..., :3]
    grey = image.astype(np.float32).mean(-1, keepdims=True) / 255.0
    out = (1 - alpha) * grey + alpha * colours
    return (out * 255).round().clip(0, 255).astype(np.uint8)


@styled
def draw_similarity(images, result: SimilarityResult, image_indices=None, cmap: str = 'magma',
                    vmin: float | None = None, alpha: float = 0.65, panel: float = 1.6, names=None) -> Figure:
    """Grid of similarity overlays: rows = images (query first), columns = layers; one colorbar.

    Args:
        images: uint8 ``(N, H, W, 3)``, the images the features came from.
        result: From :func:`patch_similarity`.
        image_indices: Rows to show (default: query image, then all others).
        cmap: Colormap ('magma' default).
        vmin: Lower end of the colour scale (default: the smallest shown value, at most 0); upper end 1.
        alpha: Heat-map opacity.
        panel: Panel size in inches.
        names: Image names (file names) for the row labels (default: ``image <i>``); when only some images
            are shown, the title says how many of how many.
    """
    images = check_images(images)
    check_features({k: m[:, None] for k, m in result.maps.items()}, images)
    rows = image_indices if image_indices is not None else (
        [result.image_index] + [i for i in range(len(images)) if i != result.image_index])
    layers = list(result.maps)
    if vmin is None:
        vmin = float(min(0.0, min(result.maps[k][rows].min() for k in layers)))
    fig = new_figure(panel * len(layers) + 0.6, panel * len(rows) * images.shape[1] / images.shape[2])
    axes = fig.subplots(len(rows), len(layers), squeeze=False)
    for r, i in enumerate(rows):
        for c, layer in enumerate(layers):
            ax = axes[r, c]
            ax.imshow(overlay_heatmap(images[i], result.maps[layer][i], cmap, vmin, 1.0, alpha))
            hide_axis(ax)
            if r == 0:
                ax.set_title(f'layer {layer}')
            if c == 0:
                ax.set_ylabel(short_name(names[i] if names is not None else f'image {i}')
                              + ('\n(query)' if i == result.image_index else ''))
            if i == result.image_index:
                _mark_patch(ax, result.maps[layer].shape[1:], images.shape[1:3], result.patch[layer])
    bar = fig.colorbar(ScalarMappable(Normalize(vmin, 1.0), cmap), ax=axes, shrink=0.8, aspect=30, pad=0.02)
    bar.set_label('cosine similarity')
    bar.outline.set_linewidth(0.5)
    if len(rows) < len(images):
        fig.suptitle(f'{len(rows)} of {len(images)} images shown (the viewer has all)', fontsize=7)
    return fig



def _mark_patch(ax, grid, image_size, patch) -> None:
    """Outline the query patch (white box with a dark edge, visible on any colour)."""
    (h, w), (height, width), (row, col) = grid, image_size, patch
    ph, pw = height / h, width / w
    for colour, lw in (('black', 2.2), ('white', 1.0)):
        ax.add_patch(Rectangle((col * pw - 0.5, row * ph - 0.5), pw, ph, fill=False, edgecolor=colour,
                               linewidth=lw))
