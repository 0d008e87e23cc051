"""Inference over whole images or sliding windows, at one or several scales (mmseg / DINOv2 "+ms" style)."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

HeadFn = Callable[[torch.Tensor], dict[str, torch.Tensor]]


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)


def _windows(height: int, width: int, crop: tuple[int, int], stride: tuple[int, int]):
    """Window boxes (y0, y1, x0, x1) covering the image; the last row/column is shifted inside (as mmseg)."""
    rows = max(height - crop[0] + stride[0] - 1, 0) // stride[0] + 1
    cols = max(width - crop[1] + stride[1] - 1, 0) // stride[1] + 1
    for r in range(rows):
        for c in range(cols):
            y1, x1 = min(r * stride[0] + crop[0], height), min(c * stride[1] + crop[1], width)
            yield max(y1 - crop[0], 0), y1, max(x1 - crop[1], 0), x1


def slide(head_fn: HeadFn, x01: torch.Tensor, crop_size: tuple[int, int], stride: tuple[int, int]):
    """Average every probe's output over overlapping windows; outputs at the image size."""
    height, width = x01.shape[-2:]
    sums, count = {}, x01.new_zeros(1, 1, height, width)
    for y0, y1, x0, x1 in _windows(height, width, tuple(crop_size), tuple(stride)):
        for name, out in head_fn(x01[:, :, y0:y1, x0:x1]).items():
            if name not in sums:
                sums[name] = x01.new_zeros(out.shape[0], out.shape[1], height, width)
            sums[name][:, :, y0:y1, x0:x1] += _resize(out.float(), (y1 - y0, x1 - x0))
        count[:, :, y0:y1, x0:x1] += 1
    return {name: s / count for name, s in sums.items()}


def flip_back(out: torch.Tensor) -> torch.Tensor:
    """A head output of the mirrored image, mirrored back (the default for tasks without ``unflip``)."""
    return out.flip(-1)


def infer_head_outputs(head_fn: HeadFn, x01: torch.Tensor, mode: str = 'whole', scales=(1.0,),
                       crop_size: tuple[int, int] | None = None, stride: tuple[int, int] | None = None,
                       flip: bool = False, unflip: Callable[[str, torch.Tensor], torch.Tensor] | None = None,
                       merge: Callable[[str, list[torch.Tensor]], torch.Tensor] | None = None):
    """Probe outputs for a batch of images in [0, 1].

    With one scale, no flip and ``mode='whole'`` the raw head outputs are returned (the task resizes them);
    otherwise each view's outputs are resized to the input size and averaged (mmseg's / DINOv2's
    ``MultiScaleFlipAug``).

    Args:
        head_fn: Images -> dict of probe outputs (``ProbeModel.head_outputs``).
        x01: Images ``[N, 3, H, W]``.
        mode: ``'whole'`` (one forward per image) or ``'slide'`` (windows of ``crop_size`` every ``stride``).
        scales: Image rescaling factors (DINOv2 "+ms": 0.5 ... 1.75 style lists).
        flip: Also run every scale mirrored left-right.
        unflip: ``(probe name, output of the mirrored image) -> output in the original frame``; default
            :func:`flip_back` (normals also negate x: ``NormalsTask.unflip``).
        merge: ``(probe name, outputs of every view) -> one output``; default the mean (segmentation averages
            probabilities: ``SegmentationTask.merge_views``). Windows of one view are always averaged as raw
            outputs, as mmseg's slide inference does.
    """
    if mode not in ('whole', 'slide'):
        raise ValueError(f"inference mode must be 'whole' or 'slide', got {mode!r}")
    if mode == 'slide' and (crop_size is None or stride is None):
        raise ValueError('slide inference needs crop_size and stride')
    size = tuple(x01.shape[-2:])
    if mode == 'whole' and tuple(scales) == (1.0,) and not flip:
        return head_fn(x01)
    unflip = unflip or (lambda name, out: flip_back(out))
    views = [(scale, mirrored) for scale in scales for mirrored in ((False, True) if flip else (False,))]
    merge = merge or (lambda name, outs: torch.stack(outs).mean(0))
    collected: dict[str, list[torch.Tensor]] = {}
    for scale, mirrored in views:
        scaled = _resize(x01, (round(size[0] * scale), round(size[1] * scale)))
        scaled = scaled.flip(-1) if mirrored else scaled
        outs = head_fn(scaled) if mode == 'whole' else slide(head_fn, scaled, crop_size, stride)
        for name, out in outs.items():
            out = _resize(out.float(), size)
            collected.setdefault(name, []).append(unflip(name, out) if mirrored else out)
    return {name: merge(name, outs) if len(outs) > 1 else outs[0] for name, outs in collected.items()}
