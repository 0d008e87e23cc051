"""Semantic segmentation metrics: aAcc, mIoU, mAcc and per-class IoU / Acc.

Definitions follow mmsegmentation 1.x ``IoUMetric`` (whose static methods compute them here): per class,
IoU = |P ∩ G| / |P ∪ G| and Acc = |P ∩ G| / |G| over all pixels of the data set (pixels pooled over images, not
averaged per image); aAcc = Σ|P ∩ G| / Σ|G|; mIoU and mAcc are the means over classes that are defined (a class
absent from both predictions and labels has IoU NaN and is left out, as in mmseg). Pixels labelled
``ignore_index`` are excluded. Values are percentages, unrounded.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from mmseg.evaluation.metrics import IoUMetric


def area_stats(pred: torch.Tensor, label: torch.Tensor, num_classes: int,
               ignore_index: int = 255) -> torch.Tensor:
    """Per-class areas of one prediction: rows intersect, union, predicted, labelled (``[4, num_classes]``).

    Args:
        pred: Predicted class per pixel, ``[H, W]``.
        label: Ground-truth class per pixel, ``[H, W]``, same size.
        num_classes: Number of classes.
        ignore_index: Label value excluded from every count.
    """
    if pred.shape != label.shape:
        raise ValueError(f'prediction {tuple(pred.shape)} and label {tuple(label.shape)} differ in size; '
                         'resize predictions to the label size before scoring')
    return torch.stack(IoUMetric.intersect_and_union(pred.cpu(), label.cpu(), num_classes, ignore_index))


def iou_metrics(areas: torch.Tensor, class_names: list[str] | None = None) -> dict[str, float]:
    """aAcc, mIoU, mAcc and per-class ``IoU.<name>`` / ``Acc.<name>`` (percent) from summed :func:`area_stats`."""
    per_class = IoUMetric.total_area_to_metrics(*areas.double(), ['mIoU'])
    names = class_names or [str(i) for i in range(areas.shape[1])]
    out = {'aAcc': float(per_class['aAcc']) * 100,
           'mIoU': float(np.nanmean(per_class['IoU'])) * 100 if np.isfinite(per_class['IoU']).any() else math.nan,
           'mAcc': float(np.nanmean(per_class['Acc'])) * 100 if np.isfinite(per_class['Acc']).any() else math.nan}
    for name, iou, acc in zip(names, per_class['IoU'], per_class['Acc']):
        out[f'IoU.{name}'] = float(iou) * 100
        out[f'Acc.{name}'] = float(acc) * 100
    return out


class SegEvaluator:
    """Accumulates :func:`area_stats` over a data set; ``compute()`` returns :func:`iou_metrics`."""

    def __init__(self, num_classes: int, ignore_index: int = 255, class_names: list[str] | None = None):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.class_names = class_names
        self.areas = torch.zeros(4, num_classes, dtype=torch.float64)

    def process(self, pred: torch.Tensor, batch: dict) -> None:
        """Add a batch: ``pred`` ``[N, H, W]`` class indices, ``batch['seg']`` ``[N, H, W]`` labels."""
        labels = batch['seg']
        for p, g in zip(pred, labels):
            self.areas += area_stats(p, g, self.num_classes, self.ignore_index).double()

    def compute(self) -> dict[str, float]:
        """Metrics over everything processed so far."""
        return iou_metrics(self.areas, self.class_names)
