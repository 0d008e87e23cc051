"""OWL-ViT / OWLv2 detection head on frozen patch tokens: every token is a detection slot.

Minderer et al. 2022, "Simple Open-Vocabulary Object Detection with Vision Transformers" (OWL-ViT) and Minderer et
al. 2023, "Scaling Open-Vocabulary Object Detection" (OWLv2). Follows google-research/scenic,
``scenic/projects/owl_vit``:

- class branch = ``layers.py: ClassPredictor`` (projection of each token, L2-normalised, dotted with the
  L2-normalised query embeddings, then ``(logits + shift(token)) * (elu(scale(token)) + 1)``; the projection is
  initialised with std 1e-6 and the shift bias with the focal-loss prior ``logit(0.01)`` as ``trainer.py`` does
  with ``config.prior_prob``);
- box branch = ``layers.py: PredictorMLP(out_dim=4, num_layers=3)`` (GELU, hidden width = token width, last
  layer zero-initialised) plus ``utils.py: compute_box_bias(kind='both')`` (logit of the grid cell's corner
  coordinate ``(i + 1) / n`` for the centre, logit of ``1 / n`` for the size, ``logit(x) = log(x + 1e-4) -
  log1p(-x + 1e-4)``), sigmoid: boxes are ``(cx, cy, w, h)`` relative to the (padded) input image;
- OWLv2 objectness = ``models.py: objectness_predictor`` (a 3-layer MLP to 1 on stop-gradient token features);
- the pooled token merge = ``layers.py: ClipImageTextEmbedder`` ``merge_class_token='mul-ln'`` (tokens times the
  class token, then LayerNorm). SigLIP has no class token: the MAP-head output takes its place when the probe is
  built with ``pooled_dim > 0``; with ``pooled_dim = 0`` nothing is merged (scenic's ``'drop'``).

The frozen tokens here are raw block outputs (the encoder's final LayerNorm is not applied to intermediate layers),
so a learned LayerNorm comes first; several layers are concatenated along channels.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOGIT_EPS = 1e-4  # scenic utils.logit


def logit(x: torch.Tensor) -> torch.Tensor:
    """scenic ``utils.logit``: ``log(x + 1e-4) - log1p(-x + 1e-4)``."""
    return torch.log(x + LOGIT_EPS) - torch.log1p(-x + LOGIT_EPS)


def box_bias(height: int, width: int) -> torch.Tensor:
    """``[h * w, 4]`` bias in logit space for a token grid (scenic ``compute_box_bias(kind='both')``).

    Centre: the cell's bottom-right corner ``((j + 1) / w, (i + 1) / h)`` (scenic's
    ``normalized_grid_corner_coordinates`` uses corners, not centres); size: ``(1 / w, 1 / h)``.
    """
    ys, xs = torch.meshgrid(torch.arange(1, height + 1) / height, torch.arange(1, width + 1) / width, indexing='ij')
    xy = torch.stack([xs, ys], -1).reshape(-1, 2).clamp(0, 1)
    wh = torch.tensor([1 / width, 1 / height]).expand_as(xy)
    return torch.cat([logit(xy), logit(wh)], -1)


def _mlp(width: int, out_dim: int) -> nn.Sequential:
    """scenic ``PredictorMLP(num_layers=3)``: two GELU layers of the input width, a zero-initialised output."""
    mlp = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, width), nn.GELU(),
                        nn.Linear(width, out_dim))
    nn.init.zeros_(mlp[-1].weight)
    nn.init.zeros_(mlp[-1].bias)
    return mlp


class OWLHead(nn.Module):
    """Open-vocabulary box and class predictions for every patch token.

    Args:
        in_dims: Channels of each input layer (concatenated).
        out_channels: Width of the query (text) embeddings the class branch projects to.
        pooled_dim: Width of the pooled MAP output to merge into the tokens ('mul-ln'); 0 = no merge. Must equal
            each input layer's width.
        objectness: Add the OWLv2 objectness head (on stop-gradient features).
        prior_prob: Initial foreground probability (logit-shift bias), scenic's ``prior_prob = 0.01``.

    ``forward(feats, pooled=None, queries=Tensor[Q, D] | [N, Q, D], query_mask=None, query_classes=None)`` returns
    ``dict(logits=[N, P, Q], boxes=[N, P, 4] (cx, cy, w, h) in [0, 1] of the input, grid=(h, w),
    objectness=[N, P] (if built with it), query_classes=...)``; ``query_classes`` (which class each query stands
    for) is handed through unchanged so the task's loss and predict read one self-describing output.
    """

    dense = False  # outputs are per-token boxes and query logits, not a per-pixel map

    def __init__(self, in_dims: list[int], out_channels: int, pooled_dim: int = 0, objectness: bool = False,
                 prior_prob: float = 0.01):
        super().__init__()
        if not in_dims or out_channels < 1:
            raise ValueError(f'OWLHead needs at least one input layer and a query width >= 1, got in_dims={in_dims}, '
                             f'out_channels={out_channels}')
        self.in_dims = [int(d) for d in in_dims]
        self.pooled_dim = int(pooled_dim)
        if self.pooled_dim and any(d != self.pooled_dim for d in self.in_dims):
            raise ValueError(f'OWLHead: the mul-ln merge multiplies each layer by the pooled output, so every layer '
                             f'width {self.in_dims} must equal pooled_dim={self.pooled_dim}')
        width = sum(self.in_dims)
        self.norm = nn.LayerNorm(width)
        self.merge_norm = nn.LayerNorm(width) if self.pooled_dim else None
        self.class_proj = nn.Linear(width, out_channels)
        nn.init.normal_(self.class_proj.weight, std=1e-6)
        nn.init.zeros_(self.class_proj.bias)
        self.logit_shift = nn.Linear(width, 1)
        nn.init.constant_(self.logit_shift.bias, math.log(prior_prob) - math.log1p(-prior_prob))
        self.logit_scale = nn.Linear(width, 1)
        self.box_mlp = _mlp(width, 4)
        self.objectness = _mlp(width, 1) if objectness else None

    def tokens(self, feats: list[torch.Tensor], pooled: torch.Tensor | None) -> tuple[torch.Tensor, tuple[int, int]]:
        """``[N, h*w, C]`` normalised tokens (merged with the pooled output when built for it) and the grid."""
        from probes.heads import _check_inputs, _concat_layers  # here: probes.heads registers this head
        _check_inputs(self, feats, pooled)
        x = _concat_layers(feats)
        grid = tuple(x.shape[-2:])
        x = self.norm(x.flatten(2).transpose(1, 2))
        if self.pooled_dim:
            x = self.merge_norm(x * pooled.to(x.dtype).repeat(1, len(self.in_dims))[:, None, :])
        return x, grid

    def class_logits(self, x: torch.Tensor, queries: torch.Tensor, query_mask: torch.Tensor | None) -> torch.Tensor:
        """``[N, P, Q]`` logits of every token for every query (scenic ``ClassPredictor`` with normalize=True)."""
        image_emb = F.normalize(self.class_proj(x), dim=-1, eps=1e-6)
        queries = F.normalize(queries.to(x.dtype), dim=-1, eps=1e-6)
        if queries.dim() == 2:
            logits = torch.einsum('npd,qd->npq', image_emb, queries)
        else:
            logits = torch.einsum('npd,nqd->npq', image_emb, queries)
        logits = (logits + self.logit_shift(x)) * (F.elu(self.logit_scale(x)) + 1)
        if query_mask is not None:
            mask = query_mask if query_mask.dim() == 2 else query_mask[None]
            logits = logits.masked_fill(~mask.bool()[:, None, :], -1e6)
        return logits

    def forward(self, feats: list[torch.Tensor], pooled: torch.Tensor | None = None, queries=None,
                query_mask: torch.Tensor | None = None, query_classes=None) -> dict:
        """Class logits, boxes and (optionally) objectness for every token."""
        if queries is None or queries.shape[-2] == 0:
            raise ValueError('OWLHead: no queries given; pass at least one text query embedding')
        x, grid = self.tokens(feats, pooled)
        bias = box_bias(*grid).to(x)
        out = {'logits': self.class_logits(x, queries, query_mask),
               'boxes': torch.sigmoid(self.box_mlp(x) + bias), 'grid': grid, 'query_classes': query_classes}
        if self.objectness is not None:
            out['objectness'] = self.objectness(x.detach())[..., 0]
        return out
