"""Surface-normal losses: plain angular loss and the uncertainty-aware angular loss of Bae et al. (2021).

Bae, Budvytis & Cipolla, "Estimating and Exploiting the Aleatoric Uncertainty in Surface Normal Estimation",
ICCV 2021 (github.com/baegwangbin/surface_normal_uncertainty, ``loss_type='NLL_ours'`` / ``'UG_NLL_ours'``):
the negative log-likelihood of the angular von Mises-Fisher distribution,

    L = -log(kappa^2 + 1) + kappa * theta + log(1 + exp(-kappa * pi)),

with ``theta`` the angle between predicted and true normal and ``kappa`` > 0 the predicted concentration.
Probe3D (``evals/utils/losses.py: angular_loss(uncertainty_aware=True)``) uses the same formula with
``kappa = elu(k) + 1.01`` (minimum 0.01, as Bae's ``min_kappa``) and, instead of Bae's dropping of pixels with
|cos| >= 0.999, clamps cos to [-1 + 1e-4, 1 - 1e-4] before ``acos`` (keeps gradients finite); we follow Probe3D.

Ground truth convention (CONTRACTS.md): unit vectors, all-zero = invalid.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

COS_EPS = 1e-4  # Probe3D's clamp of the cosine before acos
MIN_KAPPA = 0.01


def valid_normals(target: Tensor) -> Tensor:
    """Pixels whose ground-truth normal is usable: finite and not all-zero. ``target``: ``[N, 3, H, W]``."""
    return torch.isfinite(target).all(dim=1) & (target != 0).any(dim=1)


def kappa_from_logit(logit: Tensor) -> Tensor:
    """Concentration from the raw 4th output channel: ``elu(x) + 1 + 0.01`` (Bae et al.; Probe3D)."""
    return F.elu(logit) + 1.0 + MIN_KAPPA


def _angle(pred: Tensor, target: Tensor) -> Tensor:
    """Angle (radians) between ``pred[:, :3]`` and ``target``, per pixel ``[N, H, W]`` (cosine clamped)."""
    cos = F.cosine_similarity(pred[:, :3], target, dim=1)
    return cos.clamp(-1 + COS_EPS, 1 - COS_EPS).acos()


def _masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` over ``mask`` (0 with a gradient path when empty) without a host-device sync."""
    return torch.where(mask, values, torch.zeros_like(values)).sum() / mask.sum().clamp_min(1)


def _check(pred: Tensor, target: Tensor, channels: int, name: str) -> None:
    if target.ndim != 4 or target.shape[1] != 3:
        raise ValueError(f'probes/losses/normals.py: {name}: ground-truth normals must be [N, 3, H, W], got '
                         f'{tuple(target.shape)}')
    if pred.shape[0] != target.shape[0] or pred.shape[2:] != target.shape[2:] or pred.shape[1] < channels:
        raise ValueError(f'probes/losses/normals.py: {name}: prediction {tuple(pred.shape)} does not match '
                         f'ground truth {tuple(target.shape)} (needs >= {channels} channels at label size)')


def angular_loss(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean angle (radians) between predicted and true normals over valid pixels.

    Args:
        pred: ``[N, >=3, H, W]``; the first 3 channels are the (not necessarily unit) normal.
        target: ``[N, 3, H, W]`` unit ground truth, all-zero = invalid.
        mask: ``[N, H, W]`` pixels to average over instead (Probe3D: depth > 0, zero normals included).

    Returns:
        Scalar loss; zero (with a gradient path) when no pixel is valid.
    """
    _check(pred, target, 3, 'angular_loss')
    mask = valid_normals(target) if mask is None else mask.bool()
    return _masked_mean(_angle(pred, torch.nan_to_num(target)), mask)


def uncertainty_angular_loss(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Bae et al.'s angular vMF NLL ('NLL_ours'), mean over valid pixels.

    Args:
        pred: ``[N, 4, H, W]``: 3 normal channels then the raw concentration logit (``kappa_from_logit``).
        target: ``[N, 3, H, W]`` unit ground truth, all-zero = invalid.
        mask: ``[N, H, W]`` pixels to average over instead (Probe3D: depth > 0, zero normals included).

    Returns:
        Scalar loss (can be negative: it is a negative log-density).
    """
    _check(pred, target, 4, 'uncertainty_angular_loss')
    mask = valid_normals(target) if mask is None else mask.bool()
    theta = _angle(pred, torch.nan_to_num(target))
    kappa = kappa_from_logit(pred[:, 3])
    nll = -torch.log(kappa.pow(2) + 1) + kappa * theta + torch.log1p(torch.exp(-kappa * math.pi))
    return _masked_mean(nll, mask)
