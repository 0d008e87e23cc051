"""Pretraining losses: SigLIP's sigmoid image-text loss and SigLIP 2's dense additions.

- ``sigmoid_loss``: Zhai et al., 2023 (SigLIP), Algorithm 1: every image-text pair is a binary problem,
  ``-mean_i sum_j log sigmoid(z_ij (t x_i . y_j + b))`` with z = +1 on the diagonal, -1 elsewhere.
- ``distill_loss``: DINO / SILC self-distillation (Caron et al., 2021; Naeem et al., 2024, "SILC"): the student's
  prototype distribution (temperature ``tau_s``) matches the EMA teacher's centred, sharpened one (``tau_t``).
  SILC's local-to-global consistency feeds the student local crops and the teacher the global view; TIPS (Maninis
  et al., 2025) applies the same loss to the patch tokens of a masked student view (iBOT-style masked prediction).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def sigmoid_loss(image: Tensor, text: Tensor, log_scale: Tensor, bias: Tensor,
                 positives: Tensor | None = None) -> Tensor:
    """SigLIP loss of matching image / text embeddings ``(N, D)`` (row i of each is a positive pair).

    ``positives`` (bool ``(N, M)``, optional) marks further positive pairs, e.g. images whose captions are identical:
    SigLIP's per-pair binary formulation takes several positives per row as they are; with the default (the
    diagonal only) two identical captions are each other's negatives, which a small caption vocabulary makes common.
    ``text`` may hold ``M > N`` rows: the first N pair with the images, the rest are negatives of every image unless
    ``positives`` says otherwise (hard negatives: NegCLIP's swapped-attribute captions).
    """
    logits = F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).T * log_scale.exp() + bias
    n, m = logits.shape
    if m < n:
        raise ValueError(f'sigmoid_loss: {m} texts for {n} images; the first {n} texts pair with the images')
    eye = torch.eye(n, m, dtype=torch.bool, device=image.device)
    positive = eye if positives is None else (positives.to(image.device) | eye)
    labels = 2 * positive.float() - 1
    return -F.logsigmoid(labels * logits).sum() / n


class ProtoHead(nn.Module):
    """DINO projection head: MLP, L2 normalisation, weight-normalised linear layer onto ``prototypes`` logits."""

    def __init__(self, dim: int, hidden: int = 256, bottleneck: int = 64, prototypes: int = 256):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, bottleneck))
        self.last = nn.utils.parametrizations.weight_norm(nn.Linear(bottleneck, prototypes, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return self.last(F.normalize(self.mlp(x), dim=-1))


class Centre(nn.Module):
    """Running mean of teacher logits (DINO's centring, momentum ``m``), subtracted before sharpening."""

    def __init__(self, prototypes: int, momentum: float = 0.9):
        super().__init__()
        self.register_buffer('value', torch.zeros(prototypes))
        self.momentum = momentum

    @torch.no_grad()
    def update(self, teacher_logits: Tensor) -> None:
        mean = teacher_logits.reshape(-1, teacher_logits.shape[-1]).mean(0)
        self.value.mul_(self.momentum).add_(mean, alpha=1 - self.momentum)


def distill_loss(student: Tensor, teacher: Tensor, centre: Tensor, tau_s: float = 0.1,
                 tau_t: float = 0.04) -> Tensor:
    """Cross-entropy of teacher targets ``softmax((t - c) / tau_t)`` and student ``log_softmax(s / tau_s)``.

    Args:
        student: Student logits ``(..., K)``.
        teacher: Teacher logits broadcastable to ``student`` (no gradient flows into it).
        centre: ``(K,)`` running centre of the teacher logits.

    Returns:
        The mean over all leading positions.
    """
    target = F.softmax((teacher.detach() - centre) / tau_t, dim=-1)
    return -(target * F.log_softmax(student / tau_s, dim=-1)).sum(-1).mean()


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """teacher <- momentum * teacher + (1 - momentum) * student, parameter by parameter."""
    for t, s in zip(teacher.parameters(), student.parameters()):
        t.lerp_(s.detach(), 1 - momentum)
