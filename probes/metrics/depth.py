"""Monocular depth metrics: RMSE, AbsRel, SqRel, log10, RMSE-log, delta1/2/3, scale-aware and scale-invariant.

Definitions (Eigen et al., NeurIPS 2014; as mmseg ``DepthMetric._calc_all_metrics`` and Probe3D
``evals/utils/metrics.py: evaluate_depth``), over the valid pixels P of an image, d = prediction, g = truth:

* rmse = sqrt(mean_P (d - g)^2);  abs_rel = mean_P |d - g| / g;  sq_rel = mean_P (d - g)^2 / g
* log10 = mean_P |log10 d - log10 g|;  rmse_log = sqrt(mean_P (ln d - ln g)^2)
* delta_k = fraction of P with max(d / g, g / d) < 1.25^k, k = 1, 2, 3

Valid pixels: ground truth finite and > 0 (and <= ``max_depth`` when given), intersected with the Eigen crop
``[45:471, 41:601]`` of 480 x 640 NYUv2 maps when asked. Predictions are clamped to >= 1e-9 before ratios and
logs (Probe3D clamps the same way for delta).

Scale-invariant variant (Probe3D ``match_scale_and_shift``): per image, the prediction is replaced by
``s * d + t`` with (s, t) the least-squares fit to g over the valid pixels (closed-form 2x2 normal equations;
s = 1, t = 0 when the system is singular), then scored as above.

Aggregation: every metric is a mean of per-pixel terms (then a square root for the two RMSEs), so
``depth_error_sums`` returns per-image sums and counts, from which
``per_image`` (Probe3D's default: metric per image, then mean over images; mmseg's ``DepthMetric`` also averages
its per-sample results) and ``pooled`` (every valid pixel of the set weighs the same) both follow.
"""
from __future__ import annotations

import torch
from torch import Tensor

EIGEN_CROP = (45, 471, 41, 601)  # rows [45, 471), cols [41, 601) of a 480 x 640 NYUv2 depth map
METRICS = ('rmse', 'abs_rel', 'sq_rel', 'log10', 'rmse_log', 'd1', 'd2', 'd3')
_SQRT = ('rmse', 'rmse_log')
_SUMS = ('sq_err', 'abs_rel', 'sq_rel', 'log10', 'sq_log', 'd1', 'd2', 'd3')


def eigen_crop_mask(height: int, width: int, device=None) -> Tensor:
    """Bool ``[H, W]`` mask of the Eigen crop; only defined for 480 x 640 NYUv2 maps."""
    if (height, width) != (480, 640):
        raise ValueError(f'probes/metrics/depth.py: the Eigen crop is defined on 480x640 NYUv2 depth maps, got '
                         f'{height}x{width}; evaluate at the original size or disable eigen_crop')
    mask = torch.zeros(height, width, dtype=torch.bool, device=device)
    top, bottom, left, right = EIGEN_CROP
    mask[top:bottom, left:right] = True
    return mask


def depth_valid_mask(target: Tensor, max_depth: float | None = None, eigen_crop: bool = False) -> Tensor:
    """Valid ground-truth pixels ``[N, H, W]``: finite, > 0, <= ``max_depth``, inside the Eigen crop if asked."""
    mask = torch.isfinite(target) & (target > 0)
    if max_depth is not None:
        mask &= target <= max_depth
    if eigen_crop:
        mask &= eigen_crop_mask(*target.shape[-2:], device=target.device)
    return mask


def check_depth_pair(pred: Tensor, target: Tensor) -> None:
    """Raise a clear error unless ``pred`` and ``target`` are float ``[N, H, W]`` maps of one size."""
    if target.ndim != 3 or pred.shape != target.shape:
        raise ValueError(f'probes/metrics/depth.py: depth prediction {tuple(pred.shape)} and ground truth '
                         f'{tuple(target.shape)} must both be [N, H, W] of the same size; resize the prediction '
                         f'to the label size')
    if not (pred.is_floating_point() and target.is_floating_point()):
        raise TypeError(f'probes/metrics/depth.py: depth maps must be float metres, got {pred.dtype} and '
                        f'{target.dtype}; convert integer millimetres with / 1000 in the data set')


def fit_scale_shift(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Per-image least-squares scale and shift of ``pred`` onto ``target`` over ``mask`` (Probe3D).

    Args:
        pred: ``[N, H, W]`` predicted depth.
        target: ``[N, H, W]`` ground truth.
        mask: ``[N, H, W]`` bool, the pixels the fit uses.

    Returns:
        ``s * pred + t`` per image, ``[N, H, W]`` (s = 1, t = 0 where the fit is singular).
    """
    m = mask.to(pred.dtype)
    g = torch.where(mask, target, torch.zeros_like(target))
    a00, a01, a11 = (m * pred * pred).sum((1, 2)), (m * pred).sum((1, 2)), m.sum((1, 2))
    b0, b1 = (m * pred * g).sum((1, 2)), (m * g).sum((1, 2))
    det = a00 * a11 - a01 * a01
    ok = det != 0
    safe = torch.where(ok, det, torch.ones_like(det))
    scale = torch.where(ok, (a11 * b0 - a01 * b1) / safe, torch.ones_like(det))
    shift = torch.where(ok, (a00 * b1 - a01 * b0) / safe, torch.zeros_like(det))
    return pred * scale[:, None, None] + shift[:, None, None]


def depth_error_sums(pred: Tensor, target: Tensor, mask: Tensor | None = None,
                     scale_invariant: bool = False) -> tuple[dict[str, Tensor], Tensor]:
    """Per-image sums of every per-pixel error term, and the per-image valid-pixel counts.

    Args:
        pred: ``[N, H, W]`` predicted depth (metres).
        target: ``[N, H, W]`` ground truth (0 / NaN / inf = invalid).
        mask: optional extra bool mask ``[N, H, W]`` (e.g. ``depth_valid_mask(..., eigen_crop=True)``); it is
            always intersected with the validity of ``target``.
        scale_invariant: fit scale and shift per image first (Probe3D's scale-invariant evaluation).

    Returns:
        ``(sums, count)``: ``sums[k]`` is ``[N]`` for k in ``_SUMS``; ``count`` is ``[N]`` valid pixels.
    """
    check_depth_pair(pred, target)
    valid = depth_valid_mask(target) if mask is None else mask & depth_valid_mask(target)
    pred, target = pred.double(), torch.where(valid, target, torch.ones_like(target)).double()
    if scale_invariant:
        pred = fit_scale_shift(pred, target, valid)
    # only the log and ratio terms need a positive depth; a scale-and-shift fit can go negative, and Probe3D
    # scores RMSE / AbsRel on the raw fitted values
    d = pred.clamp_min(1e-9)
    ratio = torch.maximum(d / target, target / d)
    terms = {
        'sq_err': (pred - target).pow(2), 'abs_rel': (pred - target).abs() / target,
        'sq_rel': (pred - target).pow(2) / target, 'log10': (d.log10() - target.log10()).abs(),
        'sq_log': (d.log() - target.log()).pow(2),
        'd1': (ratio < 1.25).double(), 'd2': (ratio < 1.25 ** 2).double(), 'd3': (ratio < 1.25 ** 3).double(),
    }
    sums = {k: (v * valid).sum((1, 2)) for k, v in terms.items()}
    return sums, valid.sum((1, 2)).double()


def metrics_from_sums(sums: dict[str, Tensor], count: Tensor) -> dict[str, Tensor]:
    """Turn sums and counts (any matching shape) into the metrics of ``METRICS`` (same shape)."""
    n = count.clamp_min(1)
    out = {'rmse': (sums['sq_err'] / n).sqrt(), 'rmse_log': (sums['sq_log'] / n).sqrt()}
    out.update({k: sums[k] / n for k in ('abs_rel', 'sq_rel', 'log10', 'd1', 'd2', 'd3')})
    return {k: out[k] for k in METRICS}


def aggregate_depth(sums: dict[str, Tensor], count: Tensor, how: str = 'per_image') -> dict[str, float]:
    """Set-level metrics from per-image ``sums`` / ``count`` (concatenated over the set).

    Args:
        sums: per-image sums ``[num_images]`` from ``depth_error_sums``.
        count: per-image valid-pixel counts ``[num_images]``.
        how: ``'per_image'`` (Probe3D default; images with no valid pixel are skipped) or ``'pooled'``.

    Returns:
        ``{metric: float}`` for ``METRICS``.
    """
    if how == 'per_image':
        keep = count > 0
        per_image = metrics_from_sums({k: v[keep] for k, v in sums.items()}, count[keep])
        return {k: float(v.mean()) if keep.any() else float('nan') for k, v in per_image.items()}
    if how == 'pooled':
        pooled = metrics_from_sums({k: v.sum() for k, v in sums.items()}, count.sum())
        return {k: float(v) if count.sum() > 0 else float('nan') for k, v in pooled.items()}
    raise ValueError(f"probes/metrics/depth.py: aggregation must be 'per_image' or 'pooled', got {how!r}")


def depth_metrics(pred: Tensor, target: Tensor, mask: Tensor | None = None, scale_invariant: bool = False,
                  how: str = 'per_image') -> dict[str, float]:
    """All depth metrics of a batch in one call (see the module docstring for definitions)."""
    sums, count = depth_error_sums(pred, target, mask, scale_invariant)
    return aggregate_depth(sums, count, how)
