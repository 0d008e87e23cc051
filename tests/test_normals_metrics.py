"""Normal metrics against hand-worked rotations and an independent numpy computation."""
import math

import numpy as np
import pytest
import torch

from probes.metrics.normals import aggregate_normals, angular_error_deg, normal_error_stats, normal_metrics


def _rotate(gt, angles_deg):
    """Rotate each unit normal of ``gt`` [N, 3, H, W] by its angle about an orthogonal axis."""
    gen = torch.Generator().manual_seed(1)
    helper = torch.randn(gt.shape, generator=gen, dtype=gt.dtype)
    ortho = torch.nn.functional.normalize(helper - (helper * gt).sum(1, keepdim=True) * gt, dim=1)
    a = torch.deg2rad(torch.as_tensor(angles_deg, dtype=gt.dtype)).expand(gt[:, 0].shape).unsqueeze(1)
    return gt * a.cos() + ortho * a.sin()


def _unit(n=2, h=6, w=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, 3, h, w, generator=gen, dtype=torch.float64), dim=1)


def test_known_rotation():
    gt = _unit()
    m = normal_metrics(_rotate(gt, 20.0), gt)
    assert m['mean'] == pytest.approx(20) and m['median'] == pytest.approx(20) and m['rmse'] == pytest.approx(20)
    assert (m['a11.25'], m['a22.5'], m['a30']) == (0.0, 100.0, 100.0)


def test_against_numpy_per_image_and_pooled():
    gt = _unit(n=3, h=10, w=11)
    gt[1, :, :4] = 0  # invalid pixels
    angles = torch.rand(3, 10, 11, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 60
    pred = _rotate(gt, angles) * 2.5  # non-unit predictions are fine: only the direction counts
    pred[1, :, :4] = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64).view(3, 1, 1)
    g, p = gt.numpy(), pred.numpy()
    valid = np.abs(g).sum(1) > 0
    cos = (g * p).sum(1) / np.linalg.norm(p, axis=1) / np.maximum(np.linalg.norm(g, axis=1), 1e-12)
    err = np.degrees(np.arccos(np.clip(cos, -1, 1)))

    def stats(e):
        return {'mean': e.mean(), 'median': np.median(e), 'rmse': np.sqrt((e ** 2).mean()),
                'a11.25': 100 * (e < 11.25).mean(), 'a22.5': 100 * (e < 22.5).mean(), 'a30': 100 * (e < 30).mean()}

    per_image = {k: np.mean([stats(err[i][valid[i]])[k] for i in range(3)]) for k in stats(err[0])}
    ours = normal_metrics(pred, gt)
    for k, v in per_image.items():
        assert ours[k] == pytest.approx(v, rel=1e-9), k
    pooled_ref = stats(err[valid])
    pooled = normal_metrics(pred, gt, how='pooled')
    for k, v in pooled_ref.items():
        assert pooled[k] == pytest.approx(v, abs=0.005 if k == 'median' else 1e-9), k


def test_angular_error_handles_opposite_and_identical():
    gt = _unit(n=1, h=1, w=2)
    pred = torch.stack([gt[:, :, 0, 0], -gt[:, :, 0, 1]], dim=-1).unsqueeze(2)
    err = angular_error_deg(pred, gt)
    assert err[0, 0, 0].item() == pytest.approx(0, abs=1e-5) and err[0, 0, 1].item() == pytest.approx(180)


def test_bad_ground_truth():
    gt = _unit()
    with pytest.raises(ValueError, match='unit length'):
        normal_metrics(gt, gt * 2)
    with pytest.raises(ValueError, match='one size'):
        normal_metrics(gt[..., :3], gt)
    nan_gt = gt.clone()
    nan_gt[0, :, 0, 0] = float('nan')  # a non-finite normal is invalid, never averaged in
    zero_gt = gt.clone()
    zero_gt[0, :, 0, 0] = 0
    pred = _rotate(gt, 10.0)
    assert normal_metrics(pred, nan_gt) == pytest.approx(normal_metrics(pred, zero_gt))
    stats = normal_error_stats(pred, torch.zeros_like(gt))
    assert math.isnan(aggregate_normals(stats)['mean'])
