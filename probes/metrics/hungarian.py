"""Segmentation scores after Hungarian re-matching of predicted class ids, for comparison with Hummingbird tables.

open-hummingbird-eval (``hbird/utils/eval_metrics.py``, ``PredsmIoU``) accumulates a confusion matrix, matches
predicted ids to ground-truth ids with ``scipy.optimize.linear_sum_assignment`` on ``1 - IoU`` and scores the
remapped predictions. Re-matching forgives swapped class ids, which can hide label-id bugs, so the suite reports
plain mIoU by default and this number beside it. The remapped areas go through the same ``iou_metrics`` as plain
mIoU (classes absent from labels and predictions are left out of the mean, as in mmseg; the reference counts them
as 0).
"""
from __future__ import annotations

import numpy as np
import torch

from probes.metrics.segmentation import iou_metrics


def confusion_matrix(pred: torch.Tensor, label: torch.Tensor, num_classes: int,
                     ignore_index: int = 255) -> torch.Tensor:
    """``[C, C]`` int64 counts, rows = ground truth, columns = prediction; ``ignore_index`` pixels left out."""
    if pred.shape != label.shape:
        raise ValueError(f'prediction {tuple(pred.shape)} and label {tuple(label.shape)} differ in size')
    valid = label != ignore_index
    index = label[valid].long() * num_classes + pred[valid].long()
    return torch.bincount(index, minlength=num_classes * num_classes).view(num_classes, num_classes)


def hungarian_mapping(confusion: torch.Tensor) -> np.ndarray:
    """``mapping[pred_id] = gt_id`` maximising the summed IoU (unmatched predicted ids map to 0, as the reference)."""
    from scipy.optimize import linear_sum_assignment
    c = confusion.double()
    iou = c / (c.sum(1, keepdim=True) + c.sum(0, keepdim=True) - c).clamp_min(1e-8)
    rows, cols = linear_sum_assignment(1.0 - iou.numpy())
    mapping = np.zeros(confusion.shape[1], dtype=np.int64)
    mapping[cols] = rows
    return mapping


def hungarian_metrics(confusion: torch.Tensor, class_names: list[str] | None = None) -> dict[str, float]:
    """:func:`probes.metrics.segmentation.iou_metrics` of the predictions remapped by :func:`hungarian_mapping`."""
    mapping = torch.from_numpy(hungarian_mapping(confusion))
    folded = torch.zeros_like(confusion).index_add_(1, mapping, confusion).double()
    intersect, predicted, labelled = folded.diagonal(), folded.sum(0), folded.sum(1)
    areas = torch.stack([intersect, predicted + labelled - intersect, predicted, labelled])
    return iou_metrics(areas, class_names)
