"""Dense correspondence metrics of Probe3D (El Banani et al., "Probing the 3D Awareness of Visual Foundation Models",
CVPR 2024), ``evals/utils/correspondence.py`` and the ``evaluate_*_correspondence.py`` scripts.

Geometric pairs (NAVI, ScanNet, the embedded scenes): features upsampled to the (downscaled) point grid, each
valid point of view 0 matched to its nearest view-1 point by cosine, Lowe's ratio test as the match weight
(``get_correspondences_ratio_test``: ``1 - d1 / d2`` of the two nearest cosine distances), the ``num_corr``
highest-weight matches kept; each is scored by the 3D distance and the 2D reprojection distance in view 1 between
the view-0 point carried over by the true pose and its match (``estimate_correspondence_xyz``). Recall = fraction
of kept matches under a threshold; binned recall averages per-pair recall over pairs whose relative rotation falls
in a bin (``compute_binned_performance``).

Semantic keypoints (SPair-71k, ``evaluate_spair_correspondence.py``): each source keypoint's feature (bilinear,
``align_corners=True``) is compared with every target patch; the best patch's grid position (top-left corner over
the grid size, as Probe3D's ``argmax_2d`` / ``feats.shape[-1]``) is the prediction; PCK@α = fraction of keypoints
whose error, in units of the target box's longer side, is below α.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def ratio_test_matches(feat_0: torch.Tensor, feat_1: torch.Tensor, num_corr: int, chunk: int = 4096,
                       device: str = 'cpu') -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Probe3D's ratio-test matching: ``(idx_0, idx_1, weight)`` of the ``num_corr`` best view-0 points.

    Args:
        feat_0: ``[P0, C]`` features of view-0 points.
        feat_1: ``[P1, C]`` features of view-1 points (``P1 >= 2``).
        num_corr: Matches kept (fewer when ``P0`` is smaller).
        chunk: View-0 points compared at a time.
        device: Where the similarities are computed (results come back on the CPU).
    """
    if len(feat_0) == 0 or len(feat_1) < 2:
        raise ValueError(f'ratio-test matching needs points in both views (got {len(feat_0)} and {len(feat_1)})')
    f0, f1 = (F.normalize(f.float().to(device), dim=1) for f in (feat_0, feat_1))
    dists, nearest = [], []
    for start in range(0, len(f0), chunk):
        top = torch.topk(f0[start:start + chunk] @ f1.T, 2, dim=1)
        dists.append(1 - top.values.cpu())
        nearest.append(top.indices[:, 0].cpu())
    dist, nearest = torch.cat(dists).clamp_min(1e-9), torch.cat(nearest)
    weight = 1 - dist[:, 0] / dist[:, 1].clamp_min(1e-9)
    best = torch.topk(weight, min(int(num_corr), len(weight))).indices
    return best, nearest[best], weight[best]


def transform(points: torch.Tensor, Rt: torch.Tensor) -> torch.Tensor:
    """``points @ R.T + t`` for ``[N, 3]`` points and a ``[3, 4]`` pose (Probe3D ``transform_points_Rt``)."""
    return points @ Rt[:, :3].T + Rt[:, 3]


def project(points: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Pixel positions ``[N, 2]`` of camera-frame points (Probe3D ``project_3dto2d``)."""
    uvw = points @ K.T
    return uvw[:, :2] / uvw[:, 2:3].clamp_min(1e-9)


def pixel_grid(height: int, width: int) -> torch.Tensor:
    """``[2, H, W]`` pixel-centre coordinates (x, y) = (col + 0.5, row + 0.5) (Probe3D ``get_grid``)."""
    ys, xs = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing='ij')
    return torch.stack([xs, ys])


def geometric_matches(feat_0: torch.Tensor, feat_1: torch.Tensor, xyz_0: torch.Tensor, xyz_1: torch.Tensor,
                      num_corr: int, mode: str = 'bicubic', device: str = 'cpu') -> dict[str, torch.Tensor]:
    """Match the valid points of two ``[3, H, W]`` point grids through ``[C, h, w]`` feature maps.

    The features are resized to the grid (``mode``: Probe3D's NAVI script uses bicubic; its ScanNet script samples
    bilinearly with ``grid_sample`` at the pixel centres, which equals a bilinear resize). Returns the matched
    points ``x0``, ``x1`` (``[n, 3]``), their pixel positions ``uv0``, ``uv1`` on the grid and the ratio weights.
    """
    size = tuple(xyz_0.shape[-2:])
    if tuple(xyz_1.shape[-2:]) != size:
        raise ValueError(f'point grids differ in size: {tuple(xyz_0.shape)} vs {tuple(xyz_1.shape)}')
    out, feats = {}, []
    for k, (feat, xyz) in enumerate(((feat_0, xyz_0), (feat_1, xyz_1))):
        dense = F.interpolate(feat[None].float(), size=size, mode=mode, align_corners=False)[0]
        valid = xyz[2] > 0
        feats.append(dense.permute(1, 2, 0)[valid])
        out[f'x{k}'], out[f'uv{k}'] = xyz.permute(1, 2, 0)[valid], pixel_grid(*size).permute(1, 2, 0)[valid]
    idx_0, idx_1, weight = ratio_test_matches(feats[0], feats[1], num_corr, device=device)
    return {'x0': out['x0'][idx_0], 'x1': out['x1'][idx_1], 'uv0': out['uv0'][idx_0], 'uv1': out['uv1'][idx_1],
            'weight': weight}


def geometric_errors(matches: dict, Rt_01: torch.Tensor, K: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(err_3d [n] metres, err_2d [n] pixels of K)``: the view-0 point carried into view 1 vs its match."""
    carried = transform(matches['x0'].double(), Rt_01.double())
    err_3d = (carried - matches['x1'].double()).norm(dim=1)
    err_2d = (project(carried, K.double()) - project(matches['x1'].double(), K.double())).norm(dim=1)
    return err_3d.float(), err_2d.float()


def recall(errors: torch.Tensor, threshold: float) -> float:
    """Percent of ``errors`` below ``threshold``."""
    if errors.numel() == 0:
        raise ValueError('recall of an empty set of matches')
    return 100.0 * float((errors < threshold).float().mean())


def binned_recall(per_pair: torch.Tensor, angles: torch.Tensor, edges) -> dict[str, float]:
    """Mean per-pair recall (percent) of the pairs whose angle lies in ``[edges[i], edges[i+1])``; empty bins are
    left out (Probe3D would print NaN)."""
    out = {}
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (angles >= lo) & (angles < hi)
        if inside.any():
            out[f'{lo:g}-{hi:g}deg'] = 100.0 * float(per_pair[inside].mean())
    return out


def keypoint_transfer(feat_src: torch.Tensor, feat_trg: torch.Tensor, kps_src: torch.Tensor) -> torch.Tensor:
    """Predicted target positions (``[n, 2]``, (x, y) in [0, 1] of the square image) of source keypoints.

    Args:
        feat_src: ``[C, h, w]`` source features (L2-normalised over C here).
        feat_trg: ``[C, h, w]`` target features.
        kps_src: ``[n, 2]`` source keypoints, (x, y) in [0, 1].
    """
    f_src, f_trg = F.normalize(feat_src.float(), dim=0), F.normalize(feat_trg.float(), dim=0)
    grid = (kps_src.float() * 2 - 1)[None, None]
    kp_feat = F.grid_sample(f_src[None], grid, mode='bilinear', align_corners=True)[0, :, 0].T
    heat = torch.einsum('kc,chw->khw', kp_feat, f_trg).flatten(1)
    best = heat.argmax(1)
    h, w = f_trg.shape[-2:]
    return torch.stack([best % w / w, best // w / h], dim=1).float()


def pck(pred: torch.Tensor, truth: torch.Tensor, scale: float, alpha: float = 0.1) -> torch.Tensor:
    """Per-keypoint correctness: ``|pred - truth| / scale < alpha`` (``scale``: box side over image side)."""
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f'PCK scale must be positive, got {scale}')
    return (pred - truth).norm(dim=1) / scale < alpha
