"""Correspondence figures: the two views side by side with matched points joined, correct and wrong in two colours."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from visualize._common import as_numpy, check_images, hide_axis, new_figure, styled

CORRECT, WRONG = '#1a9850', '#d73027'


def _points(uv, name: str, image: np.ndarray) -> np.ndarray:
    uv = as_numpy(uv).astype(np.float64)
    if uv.ndim != 2 or uv.shape[1] != 2:
        raise ValueError(f'{name}: expected (N, 2) pixel positions (x, y), got shape {uv.shape}')
    return uv


@styled
def draw_matches(image_0, image_1, uv_0, uv_1, correct, title: str = '', max_matches: int = 60,
                 panel: float = 2.6) -> Figure:
    """Views 0 and 1 side by side; line k joins ``uv_0[k]`` (view 0) to ``uv_1[k]`` (view 1), green when
    ``correct[k]`` else red. At most ``max_matches`` lines, evenly spread over the given order.

    Args:
        image_0, image_1: uint8 ``(H, W, 3)`` images (heights may differ).
        uv_0, uv_1: ``(N, 2)`` pixel positions (x, y) in each image.
        correct: ``(N,)`` bools.
        title: Figure title (e.g. the pair and its recall).
    """
    im0, im1 = check_images(image_0, 'image_0')[0], check_images(image_1, 'image_1')[0]
    uv_0, uv_1 = _points(uv_0, 'uv_0', im0), _points(uv_1, 'uv_1', im1)
    correct = as_numpy(correct).astype(bool).reshape(-1)
    if not len(uv_0) == len(uv_1) == len(correct):
        raise ValueError(f'matches: {len(uv_0)} / {len(uv_1)} points and {len(correct)} flags differ in number')
    height = max(im0.shape[0], im1.shape[0])
    canvas = np.full((height, im0.shape[1] + im1.shape[1], 3), 255, np.uint8)
    canvas[:im0.shape[0], :im0.shape[1]] = im0
    canvas[:im1.shape[0], im0.shape[1]:] = im1
    fig = new_figure(panel * canvas.shape[1] / height, panel + 0.3)
    ax = fig.subplots()
    ax.imshow(canvas)
    keep = np.unique(np.linspace(0, len(correct) - 1, min(max_matches, len(correct))).round().astype(int))
    for k in keep if len(correct) else []:
        colour = CORRECT if correct[k] else WRONG
        x0, y0 = uv_0[k]
        x1, y1 = uv_1[k] + (im0.shape[1], 0)
        ax.plot([x0, x1], [y0, y1], color=colour, linewidth=0.6, alpha=0.8)
        ax.scatter([x0, x1], [y0, y1], s=4, color=colour, linewidths=0)
    ax.set_xlim(-0.5, canvas.shape[1] - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    share = 100 * correct.mean() if len(correct) else float('nan')
    ax.set_title(f'{title}  correct {correct.sum()}/{len(correct)} ({share:.0f}%)'.strip())
    hide_axis(ax)
    return fig
