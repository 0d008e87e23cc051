"""Reference tests of the depth and normal losses: hand-worked values and independent numpy computations."""
import math

import numpy as np
import pytest
import torch

from probes.losses import (angular_loss, gradient_loss, kappa_from_logit, probe3d_depth_loss, sig_loss,
                           uncertainty_angular_loss)

EPS = 1e-3


def _np_sig(pred, gt, lam):
    """SigLoss as Probe3D writes it, in numpy: sqrt(mean g^2 - lam mean(g)^2) over gt > 0."""
    v = gt > 0
    g = np.log(pred[v] + EPS) - np.log(gt[v] + EPS)
    return np.sqrt(np.mean(g ** 2) - lam * np.mean(g) ** 2)


def _np_grad(pred, gt):
    """MegaDepth gradient loss on the spatial axes of each [H, W] map, pooled over the batch, in numpy loops."""
    total = 0.0
    for s in (1, 2, 4, 6):
        p, t = pred[:, ::s, ::s], gt[:, ::s, ::s]
        v = t > 0
        r = np.where(v, np.log(p + EPS) - np.log(np.where(v, t, 1) + EPS), 0)
        acc = 0.0
        for n in range(p.shape[0]):
            for i in range(p.shape[1]):
                for j in range(p.shape[2]):
                    if i + 2 < p.shape[1] and v[n, i, j] and v[n, i + 2, j]:
                        acc += abs(r[n, i, j] - r[n, i + 2, j])
                    if j + 2 < p.shape[2] and v[n, i, j] and v[n, i, j + 2]:
                        acc += abs(r[n, i, j] - r[n, i, j + 2])
        total += acc / v.sum()
    return total


def test_sig_loss_matches_numpy_and_masks_invalid():
    rng = np.random.default_rng(0)
    gt = rng.uniform(0.5, 8, (2, 13, 17))
    gt[0, :3] = 0
    pred = rng.uniform(0.5, 8, gt.shape)
    ours = sig_loss(torch.tensor(pred), torch.tensor(gt))
    assert ours.item() == pytest.approx(_np_sig(pred, gt, 0.85), rel=1e-10)
    # NaN / inf ground truth is treated like 0: excluded, never averaged in
    gt_bad = gt.copy()
    gt_bad[0, :3] = np.nan
    gt_bad[0, 0, 0] = np.inf
    gt_ref = gt.copy()
    gt_ref[0, 0, 0] = 0
    assert sig_loss(torch.tensor(pred), torch.tensor(gt_bad)).item() == pytest.approx(
        _np_sig(pred, gt_ref, 0.85), rel=1e-10)


def test_sig_loss_hand_worked_scale():
    gt = torch.tensor([[[1.0, 2.0, 4.0]]])
    pred = 2 * (gt + EPS) - EPS  # log ratio exactly log 2 everywhere
    # lam = 1: the loss is the standard deviation of g = 0; lam = 0.85: sqrt(0.15) * log 2
    assert sig_loss(pred, gt, lam=1.0).item() == pytest.approx(0.0, abs=1e-6)
    assert sig_loss(pred, gt).item() == pytest.approx(math.sqrt(0.15) * math.log(2), rel=1e-6)


def test_gradient_loss_hand_worked_and_numpy():
    gt = torch.ones(1, 3, 3)
    pred = torch.ones(1, 3, 3)
    a = 0.7
    pred[0, 0, 0] = math.exp(a) * (1 + EPS) - EPS  # R(0, 0) = a, elsewhere 0
    # stride 1: |R00 - R20| + |R00 - R02| = 2a over 9 valid pixels; coarser scales are too small to differ
    assert gradient_loss(pred, gt).item() == pytest.approx(2 * a / 9, rel=1e-6)
    # a constant log ratio has no gradient
    assert gradient_loss(3 * (gt + EPS) - EPS, gt).item() == pytest.approx(0.0, abs=1e-6)

    rng = np.random.default_rng(1)
    g = rng.uniform(0.5, 5, (2, 14, 15))
    g[1, 4:7, 2:9] = 0
    p = rng.uniform(0.5, 5, g.shape)
    assert gradient_loss(torch.tensor(p), torch.tensor(g)).item() == pytest.approx(_np_grad(p, g), rel=1e-10)


def test_probe3d_depth_loss_weights_and_max_depth():
    rng = np.random.default_rng(2)
    gt = rng.uniform(0.5, 12, (2, 9, 11))
    pred = rng.uniform(0.5, 9, gt.shape)
    gt_cut = np.where(gt > 10, 0, gt)
    want = 10 * _np_sig(pred, gt_cut, 0.85) + 0.5 * _np_grad(pred, gt_cut)
    target = torch.tensor(gt)
    got = probe3d_depth_loss(torch.tensor(pred), target)
    assert got.item() == pytest.approx(want, rel=1e-10)
    assert torch.equal(target, torch.tensor(gt))  # the caller's batch is not modified (Probe3D zeroes in place)


def test_depth_losses_reject_wrong_size_and_dtype():
    with pytest.raises(ValueError, match='label size'):
        sig_loss(torch.ones(1, 4, 4), torch.ones(1, 5, 5))
    with pytest.raises(TypeError, match='millimetres'):
        gradient_loss(torch.ones(1, 4, 4), torch.ones(1, 4, 4, dtype=torch.int32))


def test_depth_loss_without_valid_pixels_is_zero_with_gradient():
    pred = torch.rand(1, 4, 4, requires_grad=True)
    loss = probe3d_depth_loss(pred, torch.zeros(1, 4, 4))
    loss.backward()
    assert loss.item() == 0 and pred.grad is not None


def _rotated(angle_deg, n=2, h=5, w=6):
    """Ground truth random unit normals, prediction rotated about an orthogonal axis by ``angle_deg``."""
    gen = torch.Generator().manual_seed(0)
    gt = torch.nn.functional.normalize(torch.randn(n, 3, h, w, generator=gen, dtype=torch.float64), dim=1)
    helper = torch.nn.functional.normalize(torch.randn(n, 3, h, w, generator=gen, dtype=torch.float64), dim=1)
    ortho = torch.nn.functional.normalize(helper - (helper * gt).sum(1, keepdim=True) * gt, dim=1)
    a = math.radians(angle_deg)
    return gt * math.cos(a) + ortho * math.sin(a), gt


def test_angular_loss_known_rotation_and_mask():
    pred, gt = _rotated(30)
    gt[0, :, 0, 0] = 0  # invalid pixel
    pred[0, :, 0, 0] = -gt[1, :, 0, 0]  # whatever is predicted there must not count
    assert angular_loss(3.0 * pred, gt).item() == pytest.approx(math.pi / 6, rel=1e-6)


def test_uncertainty_loss_matches_bae_formula():
    pred, gt = _rotated(40)
    logit = torch.linspace(-2, 3, pred.shape[2] * pred.shape[3], dtype=torch.float64).view(1, 1, *pred.shape[2:])
    pred4 = torch.cat([pred, logit.expand(pred.shape[0], 1, -1, -1)], dim=1)
    x = logit.numpy().ravel()
    kappa = np.where(x > 0, x, np.exp(x) - 1) + 1.01
    theta = math.radians(40)
    nll = -np.log(kappa ** 2 + 1) + kappa * theta + np.log(1 + np.exp(-kappa * np.pi))
    assert uncertainty_angular_loss(pred4, gt).item() == pytest.approx(nll.mean(), rel=1e-6)
    assert kappa_from_logit(torch.tensor([-50.0])).item() == pytest.approx(0.01, abs=1e-6)


def test_normal_losses_reject_bad_shapes_and_handle_empty():
    with pytest.raises(ValueError, match='4 channels'):
        uncertainty_angular_loss(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4))
    with pytest.raises(ValueError, match=r'\[N, 3, H, W\]'):
        angular_loss(torch.rand(1, 3, 4, 4), torch.rand(1, 4, 4))
    pred = torch.rand(1, 4, 4, 4, requires_grad=True)
    loss = uncertainty_angular_loss(pred, torch.zeros(1, 3, 4, 4))
    loss.backward()
    assert loss.item() == 0 and pred.grad is not None
