"""Surface-normal probing task: 4-channel head (normal + concentration), Bae et al. loss, angular metrics.

As Probe3D's ``SurfaceNormalHead(uncertainty_aware=True)`` + ``train_snorm.py``: the head predicts 3 normal
channels and one concentration logit at feature resolution; the raw output is upsampled (bicubic) to the label
size, the loss is the uncertainty-aware angular loss of Bae et al. (2021) (or the plain angular loss with
``uncertainty=False`` and 3 channels), and the prediction is the unit-normalised first 3 channels.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from probes.heads import build_head
from probes.losses.normals import angular_loss, kappa_from_logit, uncertainty_angular_loss
from probes.metrics.normals import METRICS, aggregate_normals, normal_error_stats


def _label_normals(batch: dict) -> Tensor:
    if 'normals' not in batch:
        raise KeyError("normals task: the batch has no 'normals'; use a data set with normal ground truth")
    normals = batch['normals']
    if normals.ndim != 4 or normals.shape[1] != 3 or not normals.is_floating_point():
        raise ValueError(f"normals task: batch['normals'] must be float32 [N, 3, H, W], got {normals.dtype} "
                         f"{tuple(normals.shape)}")
    return normals


def _valid(batch: dict, from_depth: bool) -> Tensor | None:
    """Probe3D's validity (``train_snorm.py``: ``mask = depth > 0``) when ``from_depth``, else None (the ground
    truth's own: finite and not all-zero)."""
    if not from_depth:
        return None
    if 'depth' not in batch:
        raise KeyError("normals task: valid_from_depth=True needs 'depth' in the batch (Probe3D: depth > 0)")
    return batch['depth'] > 0


class NormalsEvaluator:
    """Accumulates per-image angular-error statistics (histograms summed on the fly)."""

    def __init__(self, aggregation: str = 'per_image', valid_from_depth: bool = False):
        self.aggregation, self.valid_from_depth = aggregation, valid_from_depth
        self.stats: list[dict[str, Tensor]] = []
        self.hist: Tensor | None = None

    def process(self, pred: Tensor, batch: dict) -> None:
        """Add a batch: ``pred`` ``[N, 3, H, W]`` from ``NormalsTask.predict`` at label size."""
        valid = _valid(batch, self.valid_from_depth)
        stats = normal_error_stats(pred.detach(), _label_normals(batch).to(pred.device),
                                   None if valid is None else valid.to(pred.device))
        hist = stats.pop('hist').sum(0)
        self.hist = hist if self.hist is None else self.hist + hist
        self.stats.append(stats)

    def compute(self) -> dict[str, float]:
        """Angular-error metrics in degrees (mean, median, rmse) and % of pixels under 11.25 / 22.5 / 30 deg."""
        if not self.stats:
            return {k: float('nan') for k in METRICS}
        stats = {k: torch.cat([s[k] for s in self.stats]) for k in self.stats[0]}
        stats['hist'] = self.hist[None]
        return aggregate_normals(stats, self.aggregation)


class NormalsTask:
    """Surface-normal probe.

    Args:
        uncertainty: predict a concentration channel and train with Bae et al.'s loss (Probe3D default);
            False: 3 channels and the plain angular loss.
        aggregation: ``'per_image'`` (Probe3D) or ``'pooled'`` metric aggregation.
        valid_from_depth: loss and metrics over every pixel with depth > 0 (Probe3D ``train_snorm.py``), else
            over ground-truth normals that are finite and not all-zero.
        align_corners: of the bicubic upsampling to the label size (Probe3D: True).
    """

    name = 'normals'
    selection = ('rmse', 'min')  # angular RMSE, the number the SigLIP 2 paper and Probe3D report
    table_metrics = ('mean', 'median', 'rmse', 'a11.25', 'a22.5', 'a30')

    def __init__(self, uncertainty: bool = True, aggregation: str = 'per_image', valid_from_depth: bool = False,
                 align_corners: bool = False):
        self.uncertainty, self.aggregation = uncertainty, aggregation
        self.valid_from_depth, self.align_corners = valid_from_depth, align_corners
        self.out_channels = 4 if uncertainty else 3

    def build_head(self, kind: str, in_dims: list[int], pooled_dim: int, **opts) -> nn.Module:
        """A head from ``probes.heads.HEADS`` with 4 (normal + concentration) or 3 outputs."""
        return build_head(kind, in_dims, self.out_channels, pooled_dim=pooled_dim, **opts)

    def _upsample(self, head_out: Tensor, size: tuple[int, int]) -> Tensor:
        return F.interpolate(head_out.float(), size=tuple(size), mode='bicubic', align_corners=self.align_corners)

    @staticmethod
    def unflip(head_out: Tensor) -> Tensor:
        """The output for a left-right mirrored image in the original frame: mirror back and negate x
        (camera frame, x right); the concentration channel is a scalar and stays."""
        sign = torch.ones(head_out.shape[1], dtype=head_out.dtype, device=head_out.device)
        sign[0] = -1
        return head_out.flip(-1) * sign[:, None, None]

    def predict(self, head_out: Tensor, size: tuple[int, int]) -> Tensor:
        """Unit normals ``[N, 3, H, W]`` at ``size``."""
        return F.normalize(self._upsample(head_out, size)[:, :3], dim=1)

    def concentration(self, head_out: Tensor, size: tuple[int, int]) -> Tensor:
        """Predicted concentration kappa ``[N, H, W]`` (higher = more certain); needs ``uncertainty=True``."""
        if not self.uncertainty:
            raise ValueError('normals task: built with uncertainty=False, so there is no concentration channel')
        return kappa_from_logit(self._upsample(head_out, size)[:, 3])

    def loss(self, head_out: Tensor, batch: dict) -> Tensor:
        """Bae et al.'s angular vMF NLL (or the plain angular loss) at label size."""
        target = _label_normals(batch).to(head_out.device)
        pred = self._upsample(head_out, target.shape[-2:])
        valid = _valid(batch, self.valid_from_depth)
        valid = None if valid is None else valid.to(pred.device)
        loss = uncertainty_angular_loss if self.uncertainty else angular_loss
        return loss(pred, target, valid)

    def new_evaluator(self) -> NormalsEvaluator:
        """A fresh evaluator with this task's aggregation and validity."""
        return NormalsEvaluator(self.aggregation, self.valid_from_depth)
