"""Referring-expression comprehension: Acc@0.5, the share of expressions whose one predicted box overlaps the
true box with IoU >= 0.5 (Mao et al. 2016; Yu et al. 2016; the RefCOCO protocol of MDETR, TransVG, LocCa and
SigLIP 2 Table 5), and the mean IoU.

IoU of continuous ``(x0, y0, x1, y1)`` pixel boxes: |A ∩ B| / (|A| + |B| - |A ∩ B|) (no +1 on widths, as
torchvision's ``box_iou`` and MDETR's evaluator); degenerate pairs (zero union) score 0. Values are percentages.
Expressions tagged with a split (``meta['split']``, e.g. ``refcoco/testA``) are also scored per split, so one
evaluation set can hold several: ``Acc@0.5.refcoco_testA``.
"""
from __future__ import annotations

import math

import torch

THRESHOLD = 0.5


def paired_box_iou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """IoU of ``pred[i]`` with ``target[i]`` for ``[N, 4]`` boxes ``(x0, y0, x1, y1)``; ``[N]``."""
    pred, target = pred.double().reshape(-1, 4), target.double().reshape(-1, 4)
    inter_w = (torch.minimum(pred[:, 2], target[:, 2]) - torch.maximum(pred[:, 0], target[:, 0])).clamp_min(0)
    inter_h = (torch.minimum(pred[:, 3], target[:, 3]) - torch.maximum(pred[:, 1], target[:, 1])).clamp_min(0)
    inter = inter_w * inter_h

    def area(b):
        return (b[:, 2] - b[:, 0]).clamp_min(0) * (b[:, 3] - b[:, 1]).clamp_min(0)

    union = area(pred) + area(target) - inter
    return torch.where(union > 0, inter / union.clamp_min(1e-12), torch.zeros_like(union))


def referring_metrics(ious: torch.Tensor, threshold: float = THRESHOLD) -> dict[str, float]:
    """``Acc@0.5`` (percent of IoU >= threshold) and ``mIoU`` (percent) of per-expression IoUs; NaN when empty."""
    if ious.numel() == 0:
        return {'Acc@0.5': math.nan, 'mIoU': math.nan}
    return {'Acc@0.5': float((ious >= threshold).double().mean()) * 100, 'mIoU': float(ious.double().mean()) * 100}


def _tag(split: str) -> str:
    return split.replace('/', '_')


class RefEvaluator:
    """Accumulates per-expression IoUs; ``compute`` gives the overall metrics and, when the set holds several
    tagged splits, ``Acc@0.5.<split>`` / ``mIoU.<split>`` for each."""

    def __init__(self):
        self.ious: list[torch.Tensor] = []
        self.splits: list[str] = []

    def process(self, pred: list[dict], batch: dict) -> None:
        """Add a batch: ``pred`` per-image dicts with ``box`` (pixels), ``batch['target_box']`` ``[N, 4]``."""
        boxes = torch.stack([p['box'] for p in pred]).reshape(-1, 4)
        target = batch['target_box'].reshape(-1, 4)
        if len(boxes) != len(target):
            raise ValueError(f'RefEvaluator: {len(boxes)} predicted boxes for {len(target)} expressions')
        self.ious.append(paired_box_iou(boxes.cpu(), target.cpu()))
        metas = batch.get('meta') or [{}] * len(target)
        self.splits += [m.get('split', '') for m in metas]

    def compute(self) -> dict[str, float]:
        """Overall ``Acc@0.5`` and ``mIoU`` (percent), plus per split when there are several."""
        ious = torch.cat(self.ious) if self.ious else torch.zeros(0)
        out = referring_metrics(ious)
        names = sorted(set(self.splits))
        if len(names) > 1:
            splits = self.splits
            for name in names:
                mask = torch.tensor([s == name for s in splits])
                for key, value in referring_metrics(ious[mask]).items():
                    out[f'{key}.{_tag(name)}'] = value
        return out
