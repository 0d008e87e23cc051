"""Prediction overlays for every task: segmentation, depth, surface normals, boxes, referring expressions.

Pure array functions (``colorize_*``, ``normals_to_rgb``, ``angular_error_deg``) return images of the
input's size; ``draw_*`` functions lay them out as paper figures (prediction / truth / error side by side).
"""
from __future__ import annotations

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from visualize._common import as_numpy, check_images, hide_axis, new_figure, styled

IGNORE_INDEX = 255


def default_palette(num_classes: int) -> np.ndarray:
    """uint8 ``(K, 3)``: 'tab20' colours (readable, distinct), repeated beyond 20 classes."""
    colours = np.array(colormaps['tab20'].colors)[np.r_[0:20:2, 1:20:2]]
    return (colours[np.arange(num_classes) % 20] * 255).round().astype(np.uint8)


def _check_map(values, image: np.ndarray, name: str) -> np.ndarray:
    """A per-pixel map must have the image's height and width."""
    values = as_numpy(values)
    if values.shape[:2] != image.shape[:2]:
        raise ValueError(f'{name}: size {values.shape[:2]} does not match the image {image.shape[:2]}; '
                         "resize the prediction to the image first (task.predict(out, size))")
    return values


def colorize_segmentation(labels, palette: np.ndarray, image: np.ndarray | None = None,
                          alpha: float = 0.6) -> np.ndarray:
    """Label map -> uint8 RGB (blended over ``image`` when given); ignore (255) pixels show the image / grey."""
    labels = as_numpy(labels).astype(np.int64)
    if labels.ndim != 2:
        raise ValueError(f'segmentation labels: expected (H, W), got shape {labels.shape}')
    valid = labels != IGNORE_INDEX
    if (labels[valid] >= len(palette)).any() or (labels[valid] < 0).any():
        raise ValueError(f'segmentation labels: values {sorted(set(np.unique(labels[valid])))} '
                         f'outside the {len(palette)} classes')
    colour = np.full(labels.shape + (3,), 128, np.float32)
    colour[valid] = palette[labels[valid]]
    if image is None:
        return colour.astype(np.uint8)
    image = _check_map(image, labels, 'image')
    out = np.where(valid[..., None], (1 - alpha) * image + alpha * colour, image)
    return out.round().astype(np.uint8)


@styled
def draw_segmentation(image, pred, class_names, truth=None, palette=None, alpha: float = 0.6,
                      panel: float = 2.0) -> Figure:
    """Image | prediction | truth (optional), with a legend naming every class present."""
    image = check_images(image)[0]
    palette = default_palette(len(class_names)) if palette is None else np.asarray(palette, np.uint8)
    panels = [('image', image), ('prediction', colorize_segmentation(_check_map(pred, image, 'pred'),
                                                                    palette, image, alpha))]
    present = set(np.unique(as_numpy(pred)).tolist())
    if truth is not None:
        panels.append(('ground truth', colorize_segmentation(_check_map(truth, image, 'truth'), palette,
                                                             image, alpha)))
        present |= set(np.unique(as_numpy(truth)).tolist())
    fig, _ = _panel_row(panels, image, panel)
    handles = [Patch(facecolor=palette[k] / 255, edgecolor='none', label=class_names[k])
               for k in sorted(present - {IGNORE_INDEX})]
    fig.legend(handles=handles, loc='outside right center', handlelength=1.0, handleheight=1.0,
               ncol=1 + (len(handles) - 1) // 20)  # at most 20 rows per column
    return fig


def _panel_row(panels, image, panel: float, extra_width: float = 1.2, extra_height: float = 0.3):
    """One row of image panels with titles; returns ``(figure, axes)``."""
    height, width = image.shape[:2]
    fig = new_figure(panel * len(panels) + extra_width, panel * height / width + extra_height)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, arr) in zip(axes, panels):
        ax.imshow(arr)
        ax.set_title(title)
        hide_axis(ax)
    return fig, axes


def colorize(values, cmap: str, vmin: float, vmax: float, valid=None) -> np.ndarray:
    """Scalar map -> uint8 RGB with ``cmap`` over [vmin, vmax]; invalid pixels white."""
    values = as_numpy(values).astype(np.float32)
    rgb = colormaps[cmap](Normalize(vmin, vmax, clip=True)(values))[..., :3]
    if valid is not None:
        rgb[~valid] = 1.0
    return (rgb * 255).round().astype(np.uint8)


@styled
def draw_depth(image, pred, truth=None, cmap: str = 'turbo', error_cmap: str = 'magma',
               panel: float = 2.0) -> Figure:
    """Image | predicted depth | true depth | absolute error, with colorbars in metres.

    Prediction and truth share one scale (1st-99th percentile of valid truth, else of the prediction);
    pixels with truth 0 are invalid (white in truth and error).
    """
    image = check_images(image)[0]
    pred = _check_map(pred, image, 'depth pred').astype(np.float32)
    panels, valid = [('image', image)], None
    ref = pred
    if truth is not None:
        truth = _check_map(truth, image, 'depth truth').astype(np.float32)
        valid = (truth > 0) & np.isfinite(truth)
        ref = truth[valid] if valid.any() else pred
    vmin, vmax = (float(v) for v in np.percentile(ref, [1, 99]))
    vmax = max(vmax, vmin + 1e-6)
    panels.append(('prediction', colorize(pred, cmap, vmin, vmax)))
    if truth is not None:
        error = np.abs(pred - truth)
        emax = float(np.percentile(error[valid], 99)) if valid.any() else 1.0
        panels += [('ground truth', colorize(truth, cmap, vmin, vmax, valid)),
                   ('absolute error', colorize(error, error_cmap, 0.0, max(emax, 1e-6), valid))]
    fig, axes = _panel_row(panels, image, panel, extra_width=0.1, extra_height=0.75)
    _colorbar(fig, axes[1:3] if truth is not None else axes[1:2], cmap, vmin, vmax, 'depth (m)')
    if truth is not None:
        _colorbar(fig, axes[3:4], error_cmap, 0.0, max(emax, 1e-6), 'error (m)')
    return fig


def _colorbar(fig, axes, cmap, vmin, vmax, label):
    """A thin horizontal colorbar under each of ``axes`` (inset, so the panels stay aligned)."""
    for ax in axes:
        cax = ax.inset_axes([0.05, -0.09, 0.9, 0.045])
        bar = fig.colorbar(ScalarMappable(Normalize(vmin, vmax), cmap), cax=cax, orientation='horizontal')
        bar.set_label(label, labelpad=1)
        bar.outline.set_linewidth(0.5)
        cax.tick_params(length=2, pad=1)


def normals_to_rgb(normals) -> np.ndarray:
    """Unit normals ``(H, W, 3)`` (camera frame: x right, y down, z forward) -> uint8 RGB = (n + 1) / 2.

    All-zero (invalid) normals are shown white.
    """
    n = as_numpy(normals).astype(np.float32)
    if n.ndim != 3 or n.shape[-1] != 3:
        raise ValueError(f'normals: expected (H, W, 3), got shape {n.shape}; '
                         'transpose (3, H, W) tensors with .permute(1, 2, 0)')
    rgb = ((n + 1) / 2).clip(0, 1)
    rgb[np.abs(n).sum(-1) == 0] = 1.0
    return (rgb * 255).round().astype(np.uint8)


def angular_error_deg(pred, truth) -> np.ndarray:
    """Per-pixel angle in degrees between predicted and true normals ``(H, W, 3)``: the normals metric's own
    :func:`probes.metrics.normals.angular_error_deg`, on one image laid out for display."""
    from probes.metrics.normals import angular_error_deg as metric
    p, t = (torch.as_tensor(as_numpy(v), dtype=torch.float64).permute(2, 0, 1)[None] for v in (pred, truth))
    return metric(p, t)[0].numpy().astype(np.float32)


@styled
def draw_normals(image, pred, truth=None, max_error: float = 60.0, panel: float = 2.0) -> Figure:
    """Image | predicted normals | true normals | angular error (degrees, 'magma', clipped at ``max_error``)."""
    image = check_images(image)[0]
    pred = _check_map(pred, image, 'normals pred')
    panels = [('image', image), ('prediction', normals_to_rgb(pred))]
    if truth is not None:
        truth = _check_map(truth, image, 'normals truth')
        valid = np.abs(as_numpy(truth)).sum(-1) > 0
        err = angular_error_deg(pred, truth)
        panels += [('ground truth', normals_to_rgb(truth)),
                   (f'angular error (mean {err[valid].mean():.1f}°)' if valid.any() else 'angular error',
                    colorize(err, 'magma', 0.0, max_error, valid))]
    fig, axes = _panel_row(panels, image, panel, extra_width=0.1, extra_height=0.75)
    if truth is not None:
        _colorbar(fig, axes[3:4], 'magma', 0.0, max_error, 'angular error (°)')
    return fig
