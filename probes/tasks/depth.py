"""Depth probing task: 256-bin classification head, Probe3D loss, scale-aware and scale-invariant metrics.

Head output -> depth follows DINOv2's ``DepthBaseDecodeHead.depth_pred`` with ``classify=True``,
``bins_strategy='UD'``, ``norm_strategy='linear'`` (AdaBins), which Probe3D's ``DepthBinPrediction`` repeats:
``p = relu(logits) + 0.1``, normalised over the bins, ``depth = sum_k p_k * b_k`` with
``b = linspace(min_depth, max_depth, n_bins)`` (256 bins over 0.001-10 m for NYUv2). The depth map at the head's
resolution is then bilinearly upsampled to the label size. Linear heads give logits at 4x the patch grid
(:class:`UpsampledLogits`), as the references upsample a linear head's features x4 before the normalisation.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from probes.heads import build_head
from probes.losses.depth import probe3d_depth_loss
from probes.metrics.depth import METRICS, aggregate_depth, depth_error_sums, depth_valid_mask

BIN_EPS = 0.1  # DINOv2 / Probe3D "linear" normalisation: relu(logit) + 0.1
LINEAR_UPSAMPLE = 4  # Probe3D's Linear and DINOv2's BNHead(upsample=4) upsample features x4 before the 1x1 conv


class UpsampledLogits(nn.Module):
    """A head whose bin logits are bilinearly upsampled ``factor`` times, before the (nonlinear) bin
    normalisation. For a linear head this equals upsampling its input features first, as Probe3D's ``Linear``
    and DINOv2's ``BNHead`` do: bilinear interpolation and a 1x1 convolution commute."""

    def __init__(self, head: nn.Module, factor: int):
        super().__init__()
        self.head, self.factor = head, factor

    def forward(self, feats: list[Tensor], pooled: Tensor | None = None) -> Tensor:
        return F.interpolate(self.head(feats, pooled), scale_factor=self.factor, mode='bilinear',
                             align_corners=False)


def bins_to_depth(logits: Tensor, min_depth: float, max_depth: float, eps: float = BIN_EPS) -> Tensor:
    """Expected depth ``[N, h, w]`` from per-bin logits ``[N, K, h, w]`` (AdaBins 'linear' normalisation:
    ``relu + eps``; DINOv2 / Probe3D ``eps = 0.1``, TIPS ``DepthDecoder`` ``eps = min_depth = 0.001``)."""
    p = torch.relu(logits) + eps
    p = p / p.sum(dim=1, keepdim=True)
    centres = torch.linspace(min_depth, max_depth, logits.shape[1], device=logits.device, dtype=logits.dtype)
    return torch.einsum('nkhw,k->nhw', p, centres)


def _label_depth(batch: dict) -> Tensor:
    if 'depth' not in batch:
        raise KeyError("depth task: the batch has no 'depth'; use a data set with depth ground truth")
    depth = batch['depth']
    if depth.ndim != 3 or not depth.is_floating_point():
        raise ValueError(f"depth task: batch['depth'] must be float32 [N, H, W] metres, got {depth.dtype} "
                         f"{tuple(depth.shape)}")
    return depth


class DepthEvaluator:
    """Accumulates per-image error sums; ``compute`` gives scale-aware and ``si_``-prefixed scale-invariant
    metrics under the chosen aggregation (``'per_image'``: Probe3D's default; ``'pooled'``)."""

    def __init__(self, aggregation: str = 'per_image', eigen_crop: bool = False, max_depth: float | None = None):
        self.aggregation, self.eigen_crop, self.max_depth = aggregation, eigen_crop, max_depth
        self.parts: dict[str, list] = {'sa': [], 'si': []}

    def process(self, pred: Tensor, batch: dict) -> None:
        """Add a batch: ``pred`` ``[N, H, W]`` from ``DepthTask.predict`` at label size."""
        target = _label_depth(batch).to(pred.device)
        mask = depth_valid_mask(target, self.max_depth, self.eigen_crop)
        for key, si in (('sa', False), ('si', True)):
            self.parts[key].append(depth_error_sums(pred.detach().float(), target, mask, scale_invariant=si))

    def compute(self) -> dict[str, float]:
        """Metrics over everything processed (NaN when nothing valid was seen)."""
        out = {}
        for key, prefix in (('sa', ''), ('si', 'si_')):
            if not self.parts[key]:
                return {f'{p}{m}': float('nan') for p in ('', 'si_') for m in METRICS}
            sums = {k: torch.cat([s[k] for s, _ in self.parts[key]]) for k in self.parts[key][0][0]}
            count = torch.cat([c for _, c in self.parts[key]])
            out.update({prefix + k: v for k, v in aggregate_depth(sums, count, self.aggregation).items()})
        return out


class DepthTask:
    """Depth probe: ``n_bins``-way classification head, expected depth, Probe3D loss and metrics.

    Args:
        min_depth: first bin centre (Probe3D: 0.001 m).
        max_depth: last bin centre (NYUv2: 10 m; Probe3D's NAVI: 1 m).
        n_bins: number of uniform bins (256).
        loss_max_depth: ground truth deeper than this is left out of the loss (Probe3D's ``DepthLoss``: 10 m,
            for every data set).
        sig_weight: SigLoss weight (10); grad_weight: gradient-loss weight (0.5); lam: SigLoss lambda (0.85).
        aggregation: ``'per_image'`` (Probe3D) or ``'pooled'`` metric aggregation.
        eigen_crop: evaluate inside the Eigen crop only (480 x 640 NYUv2 labels).
        bin_eps: shift after the relu of the bin logits (0.1: DINOv2 / Probe3D; TIPS: its min_depth, 0.001).
        align_corners: of the bilinear upsampling of the depth map to the label size (Probe3D ``train_depth.py``:
            True; DINOv2 / TIPS: False).
    """

    name = 'depth'
    selection = ('rmse', 'min')
    table_metrics = ('rmse', 'abs_rel', 'log10', 'rmse_log', 'd1', 'd2', 'd3', 'si_rmse', 'si_d1')

    def __init__(self, min_depth: float = 1e-3, max_depth: float = 10.0, n_bins: int = 256,
                 loss_max_depth: float | None = 10.0, sig_weight: float = 10.0, grad_weight: float = 0.5,
                 lam: float = 0.85, aggregation: str = 'per_image', eigen_crop: bool = False,
                 bin_eps: float = BIN_EPS, align_corners: bool = False):
        if not 0 < min_depth < max_depth:
            raise ValueError(f'depth task: need 0 < min_depth < max_depth, got {min_depth}, {max_depth}')
        self.min_depth, self.max_depth, self.n_bins = min_depth, max_depth, n_bins
        self.loss_max_depth = loss_max_depth
        self.sig_weight, self.grad_weight, self.lam = sig_weight, grad_weight, lam
        self.aggregation, self.eigen_crop = aggregation, eigen_crop
        self.bin_eps, self.align_corners = bin_eps, align_corners

    def build_head(self, kind: str, in_dims: list[int], pooled_dim: int, **opts) -> nn.Module:
        """A head from ``probes.heads.HEADS`` with one output per depth bin; linear heads upsample x4."""
        head = build_head(kind, in_dims, self.n_bins, pooled_dim=pooled_dim, **opts)
        return UpsampledLogits(head, LINEAR_UPSAMPLE) if kind in ('linear', 'bn_linear') else head

    def predict(self, head_out: Tensor, size: tuple[int, int]) -> Tensor:
        """Depth in metres ``[N, H, W]`` at ``size``."""
        depth = bins_to_depth(head_out.float(), self.min_depth, self.max_depth, self.bin_eps)
        return F.interpolate(depth[:, None], size=tuple(size), mode='bilinear',
                             align_corners=self.align_corners)[:, 0]

    def loss(self, head_out: Tensor, batch: dict) -> Tensor:
        """``10 * SigLoss + 0.5 * gradient loss`` on the upsampled depth (Probe3D ``DepthLoss``)."""
        target = _label_depth(batch).to(head_out.device)
        pred = self.predict(head_out, target.shape[-2:])
        return probe3d_depth_loss(pred, target, self.sig_weight, self.grad_weight, self.lam, self.loss_max_depth)

    def new_evaluator(self) -> DepthEvaluator:
        """A fresh evaluator with this task's aggregation and crop; ground truth beyond ``loss_max_depth`` is
        left out (Probe3D's ``DepthLoss`` zeroes it in place before its metrics run)."""
        return DepthEvaluator(self.aggregation, self.eigen_crop, self.loss_max_depth)
