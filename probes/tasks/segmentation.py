"""Semantic segmentation task: per-pixel cross-entropy with an ignore index, argmax prediction, mIoU."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from probes.heads import build_head
from probes.losses.segmentation import upsampled_cross_entropy
from probes.metrics.segmentation import SegEvaluator


def resize_logits(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize ``[N, C, h, w]`` logits to ``size`` (no-op when already there)."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return logits
    return F.interpolate(logits, size=tuple(size), mode='bilinear', align_corners=False)


class SegmentationTask:
    """Segmentation into ``num_classes`` classes; labels in ``batch['seg']`` with ``ignore_index`` unlabelled.

    Args:
        num_classes: Number of classes (logit channels).
        ignore_index: Label value excluded from the loss and metrics (255 for every data set here).
        class_names: Optional names for the per-class metrics.
        loss_weight: Factor on the cross-entropy (for joint training with other tasks).
        avg_non_ignore: Average the loss over labelled pixels only. False (mmseg's ``CrossEntropyLoss``
            default, which DINOv2's configs use) divides the summed loss by every pixel of the batch.
    """

    name = 'seg'
    selection = ('mIoU', 'max')
    table_metrics = ('mIoU', 'mAcc', 'aAcc')

    def __init__(self, num_classes: int, ignore_index: int = 255, class_names: list[str] | None = None,
                 loss_weight: float = 1.0, avg_non_ignore: bool = False):
        if num_classes < 1:
            raise ValueError(f'SegmentationTask: num_classes must be >= 1, got {num_classes}')
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self.class_names = list(class_names) if class_names else None
        self.loss_weight = float(loss_weight)
        self.avg_non_ignore = bool(avg_non_ignore)

    def build_head(self, kind: str, in_dims: list[int], pooled_dim: int = 0, **opts) -> nn.Module:
        """A head from :data:`probes.heads.HEADS` with one output channel per class."""
        return build_head(kind, in_dims, self.num_classes, pooled_dim=pooled_dim, **opts)

    def loss(self, head_out: torch.Tensor, batch: dict) -> torch.Tensor:
        """Cross-entropy of the logits resized to the label size, ignoring ``ignore_index`` pixels."""
        return self.losses([head_out], batch)[0]

    def losses(self, head_outs: list[torch.Tensor], batch: dict) -> list[torch.Tensor]:
        """``[loss(out, batch) for out in head_outs]``, with the outputs of equal shape (the probes of a grid)
        stacked into one fused resize + cross-entropy pass (:func:`probes.losses.upsampled_cross_entropy`:
        bilinear to the label size as mmseg's ``BaseDecodeHead.loss_by_feat``, cross-entropy summed over the
        labelled pixels, divided as ``avg_non_ignore`` says)."""
        groups: dict[tuple, list[int]] = {}
        for k, out in enumerate(head_outs):
            groups.setdefault(tuple(out.shape), []).append(k)
        losses: list = [None] * len(head_outs)
        for members in groups.values():
            logits = torch.stack([head_outs[k].float() for k in members])
            values = upsampled_cross_entropy(logits, batch['seg'], self.ignore_index, self.avg_non_ignore)
            for k, value in zip(members, values.unbind()):
                losses[k] = self.loss_weight * value
        return losses

    @staticmethod
    def merge_views(views: list[torch.Tensor]) -> torch.Tensor:
        """Test-time views (scales, flips) averaged as probabilities, as mmseg's aug_test / SegTTAModel do;
        returned as log-probabilities so ``predict``'s argmax applies unchanged."""
        return torch.stack([v.softmax(dim=1) for v in views]).mean(0).clamp_min(1e-12).log()

    def predict(self, head_out: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Class index per pixel ``[N, H, W]`` at ``size`` (the label size)."""
        return resize_logits(head_out.float(), size).argmax(dim=1)

    def new_evaluator(self) -> SegEvaluator:
        """A fresh accumulator of per-class areas."""
        return SegEvaluator(self.num_classes, self.ignore_index, self.class_names)
