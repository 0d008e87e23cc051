"""Set-prediction detection loss of OWL-ViT: Hungarian matching, sigmoid focal loss, L1 and generalized IoU.

Follows google-research/scenic ``projects/owl_vit``: the matching cost is ``losses.py: compute_cost`` (focal
classification cost ``pos - neg`` summed over an instance's labels, L1 on ``(cx, cy, w, h)``, ``-GIoU``; weights
1 / 1 / 1), matched with the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``, scenic's
``matchers.hungarian_matcher``); the losses are ``matching_base_models.py``: ``labels_losses_and_metrics`` (sigmoid
focal loss over every token x query, unmatched tokens all-negative, per image divided by its number of positive
labels, ``normalization='per_example'``) and ``boxes_losses_and_metrics`` (L1 on ``(x0, y0, x1, y1)`` summed over
coordinates and ``1 - GIoU``, per image divided by its number of boxes). Focal loss: Lin et al. 2017, with the
OWL-ViT setting alpha 0.3, gamma 2 (``configs/clip_b16.py``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torchvision.ops import box_convert, generalized_box_iou, sigmoid_focal_loss

FOCAL_ALPHA, FOCAL_GAMMA = 0.3, 2.0


def focal_cost(logits: torch.Tensor, alpha: float = FOCAL_ALPHA, gamma: float = FOCAL_GAMMA) -> torch.Tensor:
    """Per-logit classification cost of calling it positive rather than negative (scenic ``sigmoid_cost``)."""
    prob = torch.sigmoid(logits)
    pos = -F.logsigmoid(logits) * alpha * (1 - prob) ** gamma
    neg = -F.logsigmoid(-logits) * (1 - alpha) * prob ** gamma
    return pos - neg


def match_cost(logits: torch.Tensor, boxes: torch.Tensor, target_onehot: torch.Tensor, target_boxes: torch.Tensor,
               weights: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> torch.Tensor:
    """``[P, M]`` cost of assigning each of P predictions to each of M targets (scenic ``compute_cost``).

    Args:
        logits: ``[P, Q]`` class logits. boxes: ``[P, 4]`` predicted ``(cx, cy, w, h)`` in [0, 1].
        target_onehot: ``[M, Q]`` multi-hot labels. target_boxes: ``[M, 4]`` ``(cx, cy, w, h)`` in [0, 1].
        weights: Class, L1 and GIoU cost weights.
    """
    cost_class = focal_cost(logits) @ target_onehot.to(logits.dtype).T
    cost_l1 = torch.cdist(boxes, target_boxes, p=1)
    cost_giou = -generalized_box_iou(box_convert(boxes, 'cxcywh', 'xyxy'), box_convert(target_boxes, 'cxcywh', 'xyxy'))
    cost = weights[0] * cost_class + weights[1] * cost_l1 + weights[2] * cost_giou
    return torch.nan_to_num(cost, nan=1e6, posinf=1e6, neginf=-1e6)


@torch.no_grad()
def hungarian_match(cost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Prediction and target indices of the minimum-cost one-to-one assignment of a ``[P, M]`` cost matrix."""
    if cost.shape[1] == 0:
        empty = torch.zeros(0, dtype=torch.int64)
        return empty, empty
    rows, cols = linear_sum_assignment(cost.detach().float().cpu().numpy())
    return torch.as_tensor(rows, dtype=torch.int64), torch.as_tensor(cols, dtype=torch.int64)


def image_loss(logits: torch.Tensor, boxes: torch.Tensor, target_onehot: torch.Tensor, target_boxes: torch.Tensor,
               objectness: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The OWL-ViT losses of one image, normalised per image.

    Args:
        logits: ``[P, Q]``; boxes: ``[P, 4]`` predicted ``(cx, cy, w, h)`` in [0, 1].
        target_onehot: ``[M, Q]`` multi-hot; target_boxes: ``[M, 4]`` ``(cx, cy, w, h)`` in [0, 1].
        objectness: ``[P]`` OWLv2 objectness logits, trained (focal loss) to tell matched tokens from the rest.

    Returns:
        ``dict(class=, l1=, giou=[, objectness=])`` scalars.
    """
    pred_idx, tgt_idx = hungarian_match(match_cost(logits, boxes, target_onehot, target_boxes))
    targets = torch.zeros_like(logits)
    targets[pred_idx] = target_onehot[tgt_idx].to(logits.dtype)
    num_labels = max(float(target_onehot.sum()), 1.0)
    out = {'class': sigmoid_focal_loss(logits, targets, FOCAL_ALPHA, FOCAL_GAMMA, reduction='sum') / num_labels}
    num_boxes = max(len(tgt_idx), 1)
    src = box_convert(boxes[pred_idx], 'cxcywh', 'xyxy')
    tgt = box_convert(target_boxes[tgt_idx], 'cxcywh', 'xyxy')
    out['l1'] = (src - tgt).abs().sum() / num_boxes
    out['giou'] = (1 - torch.diag(generalized_box_iou(src, tgt))).sum() / num_boxes if len(tgt_idx) \
        else boxes.sum() * 0.0
    if objectness is not None:
        matched = torch.zeros_like(objectness)
        matched[pred_idx] = 1.0
        out['objectness'] = sigmoid_focal_loss(objectness, matched, FOCAL_ALPHA, FOCAL_GAMMA,
                                               reduction='sum') / num_boxes
    return out
