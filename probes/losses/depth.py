"""Depth losses of the Probe3D / DINOv2 depth probes.

* ``sig_loss``: the scale-invariant log loss (Eigen et al., NeurIPS 2014) in the form AdaBins uses and DINOv2
  (``dinov2/eval/depth/models/losses/sigloss.py``) and Probe3D (``evals/utils/losses.py: sig_loss``) reimplement.
* ``gradient_loss``: the multi-scale gradient-matching loss of MegaDepth (Li & Snavely, CVPR 2018) as DINOv2
  (``gradientloss.py``) and Probe3D (``gradient_loss``) write it.
* ``probe3d_depth_loss``: Probe3D's ``DepthLoss``: 10 x SigLoss(lambda = 0.85) + 0.5 x gradient loss, with
  ground truth beyond ``max_depth`` treated as missing.

Ground truth convention (CONTRACTS.md): metres, ``0`` = invalid. Pixels whose ground truth is not finite or not
positive never enter a loss.
"""
from __future__ import annotations

import torch
from torch import Tensor

LOG_EPS = 1e-3  # DINOv2 / Probe3D: log(d + 0.001) "to avoid exploding gradient"


def _check_pair(pred: Tensor, target: Tensor, name: str) -> None:
    if pred.shape != target.shape:
        raise ValueError(f'probes/losses/depth.py: {name}: prediction {tuple(pred.shape)} and ground truth '
                         f'{tuple(target.shape)} differ; upsample the prediction to the label size first')
    if not target.is_floating_point():
        raise TypeError(f'probes/losses/depth.py: {name}: ground-truth depth must be float metres, got '
                        f'{target.dtype}; convert (e.g. uint16 millimetres / 1000) in the data set')


def valid_depth(target: Tensor, max_depth: float | None = None) -> Tensor:
    """Pixels with usable ground truth: finite, > 0 and (optionally) <= ``max_depth``.

    Args:
        target: ground-truth depth in metres, any shape.
        max_depth: if given, deeper pixels are treated as missing (Probe3D zeroes ``target > max_depth``).

    Returns:
        Bool tensor of ``target``'s shape.
    """
    mask = torch.isfinite(target) & (target > 0)
    if max_depth is not None:
        mask &= target <= max_depth
    return mask


def sig_loss(pred: Tensor, target: Tensor, lam: float = 0.85, max_depth: float | None = None) -> Tensor:
    """Scale-invariant log loss, pooled over every valid pixel of the batch.

    ``g = log(pred + 1e-3) - log(target + 1e-3)`` over valid pixels;
    ``loss = sqrt(mean(g^2) - lam * mean(g)^2)``.

    Matches Probe3D's ``sig_loss(sigma=0.85)`` exactly. DINOv2's ``SigLoss`` writes the same quantity as
    ``sqrt(var(g) + 0.15 * mean(g)^2)`` with torch's unbiased variance, which differs from this by a factor
    n / (n - 1) on the variance term (negligible for an image's worth of pixels).

    Args:
        pred: predicted depth (metres), shape ``[N, H, W]`` (or any shape equal to ``target``'s).
        target: ground-truth depth (metres, 0 = invalid).
        lam: the variance-focus weight lambda (0.85 in AdaBins / DINOv2 / Probe3D).
        max_depth: ground truth deeper than this is ignored.

    Returns:
        Scalar loss; zero (with a gradient path) when no pixel is valid.
    """
    _check_pair(pred, target, 'sig_loss')
    mask = valid_depth(target, max_depth)
    # masked sums, not pred[mask] / `if mask.any()`: no host-device sync in a training step
    ones = torch.ones_like(target)
    g = (torch.log(torch.where(mask, pred, ones) + LOG_EPS) - torch.log(torch.where(mask, target, ones) + LOG_EPS)) * mask
    n = mask.sum().clamp_min(1)
    # clamp: rounding can push the difference a hair below zero when all g are equal (1e-12, not 0: sqrt'(0) is inf)
    return (g.pow(2).sum() / n - lam * (g.sum() / n).pow(2)).clamp_min(1e-12).sqrt() * mask.any()


def _gradient_term(log_diff: Tensor, mask: Tensor) -> Tensor:
    """Sum over pixels of |R(i, j) - R(i + 2, j)| + |R(i, j) - R(i, j + 2)| where both ends are valid."""
    v = (log_diff[..., :-2, :] - log_diff[..., 2:, :]).abs() * (mask[..., :-2, :] & mask[..., 2:, :])
    h = (log_diff[..., :, :-2] - log_diff[..., :, 2:]).abs() * (mask[..., :, :-2] & mask[..., :, 2:])
    return v.sum() + h.sum()


def gradient_loss(pred: Tensor, target: Tensor, max_depth: float | None = None) -> Tensor:
    """Multi-scale gradient-matching loss on log depth (MegaDepth; DINOv2 ``GradientLoss``).

    With ``R = (log(pred + 1e-3) - log(target + 1e-3)) * valid``, at 4 scales (pixel strides 1, 2, 4, 6,
    i.e. ``x[::1]`` then ``x[::2k]`` for k = 1..3 as in DINOv2 / Probe3D) the loss adds
    ``(sum |R(i,j) - R(i+2,j)| + sum |R(i,j) - R(i,j+2)|) / n_valid``, each difference counted only when
    both pixels are valid, and ``n_valid`` the number of valid pixels at that scale (pooled over the batch).

    Deviation, on purpose: DINOv2 and Probe3D call this on ``[N, 1, H, W]`` tensors, so their ``x[::s, ::s]``
    and ``x[0:-2, :]`` act on the batch and channel axes, not on height and width. Here the slicing is applied
    to the last two (spatial) axes, which is what the MegaDepth loss defines.

    Args:
        pred: predicted depth ``[..., H, W]`` (metres).
        target: ground-truth depth, same shape (0 = invalid).
        max_depth: ground truth deeper than this is ignored.

    Returns:
        Scalar loss.
    """
    _check_pair(pred, target, 'gradient_loss')
    mask = valid_depth(target, max_depth)
    safe_target = torch.where(mask, target, torch.ones_like(target))  # keeps NaN/inf out of the products
    log_diff = (torch.log(pred.clamp_min(0) + LOG_EPS) - torch.log(safe_target + LOG_EPS)) * mask
    total = pred.sum() * 0.0
    for stride in (1, 2, 4, 6):
        d, m = log_diff[..., ::stride, ::stride], mask[..., ::stride, ::stride]
        total = total + _gradient_term(d, m) / m.sum().clamp_min(1)  # no valid pixel: the term is 0
    return total


def probe3d_depth_loss(pred: Tensor, target: Tensor, sig_weight: float = 10.0, grad_weight: float = 0.5,
                       lam: float = 0.85, max_depth: float | None = 10.0) -> Tensor:
    """Probe3D's ``DepthLoss``: ``10 * sig_loss + 0.5 * gradient_loss``, ignoring ground truth > ``max_depth``.

    Probe3D zeroes ``target > max_depth`` in place (mutating the batch); here those pixels are masked instead.

    Args:
        pred: predicted depth ``[N, H, W]`` at label size.
        target: ground-truth depth ``[N, H, W]`` (0 = invalid).
        sig_weight: weight of the scale-invariant log loss.
        grad_weight: weight of the gradient-matching loss.
        lam: SigLoss lambda.
        max_depth: maximum valid ground-truth depth (Probe3D: the data set's, 10 m for NYU, 1 m for NAVI).

    Returns:
        Scalar loss.
    """
    return (sig_weight * sig_loss(pred, target, lam, max_depth)
            + grad_weight * gradient_loss(pred, target, max_depth))
