"""Box overlays: detections with labels and scores, and referring expressions (predicted vs true box)."""
from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from visualize._common import as_numpy, check_images, hide_axis, new_figure, styled
from visualize.overlays import default_palette


def _check_boxes(boxes, image: np.ndarray, name: str) -> np.ndarray:
    """``(K, 4)`` boxes ``(x0, y0, x1, y1)`` in pixels with x0 <= x1, y0 <= y1."""
    boxes = as_numpy(boxes).astype(np.float64).reshape(-1, 4) if len(boxes) else np.zeros((0, 4))
    if (boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any():
        raise ValueError(f'{name}: boxes must be (x0, y0, x1, y1) with x0 <= x1 and y0 <= y1')
    return boxes


def box_iou(a, b) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _box(ax, box, colour, text=None, style='-') -> None:
    """One box with an optional label tag above its top-left corner."""
    x0, y0, x1, y1 = box
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, linewidth=1.5,
                           linestyle=style))
    if text:
        ax.text(x0, y0, text, color='white', fontsize=6, va='bottom', ha='left',
                bbox=dict(facecolor=colour, edgecolor='none', pad=1.0, alpha=0.9))


@styled
def draw_boxes(image, boxes, labels, class_names, scores=None, score_threshold: float = 0.0,
               palette=None, panel: float = 3.0) -> Figure:
    """Detections on the image: one colour per class, tag '<class> <score>'; low scores dropped.

    Args:
        image: uint8 ``(H, W, 3)``.
        boxes: ``(K, 4)`` pixel boxes ``(x0, y0, x1, y1)``.
        labels: ``(K,)`` class indices into ``class_names``.
        class_names: Names of the classes.
        scores: ``(K,)`` confidences, or None (ground truth).
        score_threshold: Boxes scoring below are not drawn.
        palette: uint8 ``(num_classes, 3)`` (default: :func:`default_palette`).
        panel: Figure width in inches.
    """
    image = check_images(image)[0]
    boxes = _check_boxes(boxes, image, 'boxes')
    labels = as_numpy(labels).astype(np.int64).reshape(-1)
    if len(labels) != len(boxes) or (scores is not None and len(scores) != len(boxes)):
        raise ValueError(f'boxes: {len(boxes)} boxes but {len(labels)} labels'
                         + ('' if scores is None else f' and {len(scores)} scores'))
    if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(f'boxes: labels {sorted(set(labels.tolist()))} outside the {len(class_names)} classes')
    palette = default_palette(len(class_names)) if palette is None else np.asarray(palette, np.uint8)
    height, width = image.shape[:2]
    fig = new_figure(panel, panel * height / width)
    ax = fig.subplots()
    ax.imshow(image)
    for k in np.argsort(-as_numpy(scores)) if scores is not None else range(len(boxes)):
        score = None if scores is None else float(scores[k])
        if score is not None and score < score_threshold:
            continue
        tag = class_names[labels[k]] + ('' if score is None else f' {score:.2f}')
        _box(ax, boxes[k], palette[labels[k]] / 255, tag)
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    hide_axis(ax)
    return fig


@styled
def draw_referring(image, expression: str, pred_box, true_box=None, panel: float = 3.0) -> Figure:
    """A referring expression: the text as title, predicted box (solid orange) and true box (dashed green)."""
    image = check_images(image)[0]
    pred = _check_boxes([pred_box], image, 'predicted box')[0]
    height, width = image.shape[:2]
    fig = new_figure(panel, panel * height / width + 0.6)
    ax = fig.subplots()
    ax.imshow(image)
    title = f'“{expression}”'
    if true_box is not None:
        true = _check_boxes([true_box], image, 'true box')[0]
        _box(ax, true, '#2ca02c', style='--')
        title += f'\nIoU {box_iou(pred, true):.2f}'
    _box(ax, pred, '#ff7f0e')
    handles = [Line2D([], [], color='#ff7f0e', lw=1.5, label='prediction')]
    if true_box is not None:
        handles.append(Line2D([], [], color='#2ca02c', lw=1.5, ls='--', label='ground truth'))
    fig.legend(handles=handles, loc='outside lower center', ncol=2)
    ax.set_title('\n'.join(textwrap.wrap(title.split('\n')[0], 48) + title.split('\n')[1:]))
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    hide_axis(ax)
    return fig
