"""Surface-normal metrics: mean, median and RMSE angular error (degrees), % of pixels under 11.25/22.5/30 deg.

Definitions follow Fouhey et al. (ICCV 2013) as used by Bae et al. (2021) and Probe3D
(``evals/utils/metrics.py: evaluate_surface_norm``): the angle between the predicted and true normal,
``acos(clamp(cos_sim, -1, 1))`` in degrees, over valid pixels (ground truth finite and not all-zero). Probe3D
reports the RMSE and the three recalls per image averaged over images; we also give mean and median.

Aggregation: ``per_image`` (Probe3D's default: statistic per image, then mean over images) or ``pooled`` (every
valid pixel of the set weighs the same; the pooled median comes from a histogram of 0.01 deg bins, so it is
exact to 0.005 deg).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

THRESHOLDS = (11.25, 22.5, 30.0)
METRICS = ('mean', 'median', 'rmse', 'a11.25', 'a22.5', 'a30')
HIST_BINS = 18000  # 0.01 degree bins over [0, 180]
UNIT_TOL = 1e-2


def valid_normal_mask(target: Tensor) -> Tensor:
    """``[N, H, W]`` pixels with usable ground truth: finite and not all-zero (``target``: ``[N, 3, H, W]``)."""
    return torch.isfinite(target).all(dim=1) & (target != 0).any(dim=1)


def check_normals(pred: Tensor, target: Tensor, valid: Tensor | None = None) -> Tensor:
    """Validate a prediction / ground-truth pair and return the valid mask (``valid`` if given: Probe3D counts
    every pixel with depth > 0, a zero ground-truth normal then scoring 90 deg).

    Raises:
        ValueError: shapes differ from ``[N, 3, H, W]`` (prediction may have extra channels, e.g. kappa), or a
            valid ground-truth normal is not unit length (|norm - 1| > 1e-2): normalise it in the data set.
    """
    if target.ndim != 4 or target.shape[1] != 3 or pred.ndim != 4 or pred.shape[1] < 3 \
            or pred.shape[0] != target.shape[0] or pred.shape[2:] != target.shape[2:]:
        raise ValueError(f'probes/metrics/normals.py: prediction {tuple(pred.shape)} and ground truth '
                         f'{tuple(target.shape)} must be [N, 3(+), H, W] and [N, 3, H, W] of one size')
    norms = target.norm(dim=1)[valid_normal_mask(target)]
    if norms.numel() and (norms - 1).abs().max() > UNIT_TOL:
        raise ValueError(f'probes/metrics/normals.py: ground-truth normals must be unit length (all-zero = '
                         f'invalid); found norms in [{norms.min():.3f}, {norms.max():.3f}]. Normalise them in '
                         f'the data set')
    return valid_normal_mask(target) if valid is None else valid.bool()


def angular_error_deg(pred: Tensor, target: Tensor) -> Tensor:
    """Per-pixel angle in degrees ``[N, H, W]`` between ``pred[:, :3]`` (any length) and ``target``."""
    cos = F.cosine_similarity(pred[:, :3].double(), torch.nan_to_num(target).double(), dim=1)
    return torch.rad2deg(cos.clamp(-1, 1).acos())


def normal_error_stats(pred: Tensor, target: Tensor, valid: Tensor | None = None) -> dict[str, Tensor]:
    """Per-image sums, counts and error histograms from which both aggregations follow (over ``valid`` pixels
    when given, else over ground truth that is finite and not all-zero).

    Returns:
        dict with ``sum``, ``sq_sum``, ``a11.25``, ``a22.5``, ``a30`` (counts under each threshold), ``count``
        (all ``[N]``), ``median`` (``[N]``, NaN for images without valid pixels) and ``hist``
        (``[N, HIST_BINS]`` counts of errors per 0.01 deg).
    """
    valid = check_normals(pred, target, valid)
    err = angular_error_deg(pred, target)
    stats = {'sum': (err * valid).sum((1, 2)), 'sq_sum': (err.pow(2) * valid).sum((1, 2)),
             'count': valid.sum((1, 2)).double()}
    for t in THRESHOLDS:
        stats[f'a{t:g}'] = ((err < t) & valid).sum((1, 2)).double()
    medians, hists = [], []
    for e, v in zip(err, valid):
        vals = e[v]
        medians.append(vals.quantile(0.5) if vals.numel() else torch.tensor(float('nan'), dtype=e.dtype))
        hists.append(torch.histc(vals, bins=HIST_BINS, min=0, max=180))
    stats['median'] = torch.stack(medians)
    stats['hist'] = torch.stack(hists).double()
    return stats


def _hist_median(hist: Tensor) -> float:
    """Median of the values binned in ``hist``: mean of the two middle ranks' bin centres (error <= 0.005 deg)."""
    cum = hist.cumsum(0)
    n = int(cum[-1])
    ranks = torch.tensor([(n + 1) // 2, n // 2 + 1], dtype=cum.dtype)
    bins = torch.searchsorted(cum, ranks)
    return float(((bins.double() + 0.5) * (180.0 / HIST_BINS)).mean())


def aggregate_normals(stats: dict[str, Tensor], how: str = 'per_image') -> dict[str, float]:
    """Set-level metrics (degrees; recalls in %) from per-image ``stats`` concatenated over the set."""
    count = stats['count']
    if how == 'per_image':
        keep = count > 0
        n = count[keep]
        out = {'mean': stats['sum'][keep] / n, 'median': stats['median'][keep],
               'rmse': (stats['sq_sum'][keep] / n).sqrt()}
        out.update({f'a{t:g}': 100 * stats[f'a{t:g}'][keep] / n for t in THRESHOLDS})
        return {k: float(v.mean()) if keep.any() else float('nan') for k, v in out.items()}
    if how == 'pooled':
        n = count.sum()
        if n == 0:
            return {k: float('nan') for k in METRICS}
        out = {'mean': float(stats['sum'].sum() / n), 'median': _hist_median(stats['hist'].sum(0)),
               'rmse': float((stats['sq_sum'].sum() / n).sqrt())}
        out.update({f'a{t:g}': float(100 * stats[f'a{t:g}'].sum() / n) for t in THRESHOLDS})
        return out
    raise ValueError(f"probes/metrics/normals.py: aggregation must be 'per_image' or 'pooled', got {how!r}")


def normal_metrics(pred: Tensor, target: Tensor, how: str = 'per_image') -> dict[str, float]:
    """All normal metrics of a batch in one call."""
    return aggregate_normals(normal_error_stats(pred, target), how)
