"""Depth task: bin decoding against DINOv2's formula, heads, loss, evaluator, bad batches."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from probes.tasks.depth import DepthTask, bins_to_depth


def _np_dinov2_linear(logits, lo, hi):
    """DINOv2 depth_pred(classify=True, 'UD', 'linear') in numpy."""
    p = np.maximum(logits, 0) + 0.1
    p = p / p.sum(1, keepdims=True)
    return np.einsum('nkhw,k->nhw', p, np.linspace(lo, hi, logits.shape[1]))


def test_bins_to_depth_matches_reference_and_hand_values():
    logits = torch.randn(2, 256, 3, 4, dtype=torch.float64)
    ours = bins_to_depth(logits, 1e-3, 10.0)
    assert np.allclose(ours.numpy(), _np_dinov2_linear(logits.numpy(), 1e-3, 10.0), rtol=1e-12)
    flat = bins_to_depth(torch.zeros(1, 256, 1, 1), 1e-3, 10.0)
    assert flat.item() == pytest.approx((1e-3 + 10.0) / 2, rel=1e-5)  # uniform p: the mean bin centre
    spike = torch.zeros(1, 5, 1, 1)
    spike[0, 3] = 1e6  # nearly all mass on bin 3 of linspace(0, 4, 5) = 3.0
    assert bins_to_depth(spike, 0.0 + 1e-9, 4.0).item() == pytest.approx(3.0, rel=1e-5)


@pytest.mark.parametrize('kind', ['linear', 'dpt'])
def test_heads_predict_loss_and_gradients(kind):
    task = DepthTask(max_depth=5.0)
    head = task.build_head(kind, [16, 16, 16, 16], pooled_dim=8)
    feats = [torch.randn(2, 16, 4, 4) for _ in range(4)]
    out = head(feats, torch.randn(2, 8))
    assert out.shape[1] == 256
    pred = task.predict(out, (40, 36))
    assert pred.shape == (2, 40, 36) and (pred >= 1e-3).all() and (pred <= 5.0).all()
    depth = torch.rand(2, 40, 36) * 4 + 0.5
    depth[0, :5] = 0
    loss = task.loss(out, {'depth': depth})
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in head.parameters() if p.requires_grad)


def test_evaluator_perfect_scaled_and_aggregations():
    task = DepthTask(max_depth=10.0)
    gt = torch.rand(3, 8, 8) * 5 + 1
    gt[1, :2] = 0
    ev = task.new_evaluator()
    ev.process(gt * 1.0, {'depth': gt})
    m = ev.compute()
    assert m['rmse'] == pytest.approx(0, abs=1e-6) and m['d1'] == 1.0 and m['si_rmse'] == pytest.approx(0, abs=1e-5)
    ev = task.new_evaluator()
    ev.process(gt[:2] * 2, {'depth': gt[:2]})
    ev.process(gt[2:] * 2, {'depth': gt[2:]})  # accumulates over batches
    m = ev.compute()
    assert m['abs_rel'] == pytest.approx(1.0) and m['si_abs_rel'] == pytest.approx(0, abs=1e-5)
    assert set(m) == {p + k for p in ('', 'si_') for k in
                      ('rmse', 'abs_rel', 'sq_rel', 'log10', 'rmse_log', 'd1', 'd2', 'd3')}
    pooled = DepthTask(aggregation='pooled').new_evaluator()
    pooled.process(gt * 2, {'depth': gt})
    assert pooled.compute()['abs_rel'] == pytest.approx(1.0)


def test_bad_batches_raise():
    task = DepthTask()
    out = torch.randn(1, 256, 2, 2)
    with pytest.raises(KeyError, match="no 'depth'"):
        task.loss(out, {'image': torch.rand(1, 3, 8, 8)})
    with pytest.raises(ValueError, match=r'float32 \[N, H, W\]'):
        task.loss(out, {'depth': torch.ones(1, 8, 8, dtype=torch.int32)})
    with pytest.raises(ValueError, match='min_depth < max_depth'):
        DepthTask(min_depth=5, max_depth=1)
    ev = task.new_evaluator()
    with pytest.raises(ValueError, match='same size'):
        ev.process(torch.ones(1, 4, 4), {'depth': torch.ones(1, 8, 8)})


def test_linear_depth_head_upsamples_logits_like_probe3d_upsamples_features():
    """Probe3D's Linear interpolates features x4 then applies its 1x1 conv; ours upsamples the logits x4:
    the same function, since bilinear interpolation and a 1x1 convolution commute."""
    from probes.tasks.depth import DepthTask
    task = DepthTask()
    head = task.build_head('linear', [8], pooled_dim=0).eval()
    feats = torch.randn(2, 8, 5, 6)
    out = head([feats])
    assert out.shape == (2, 256, 20, 24)
    features_first = torch.nn.functional.interpolate(feats, scale_factor=4, mode='bilinear', align_corners=False)
    assert torch.allclose(out, head.head([features_first]), atol=1e-5)
    assert task.build_head('dpt', [8] * 4, pooled_dim=0, hidden_dim=8, reassemble_dims=(4, 4, 8, 8)).__class__ \
        .__name__ != 'UpsampledLogits'


def test_depth_evaluation_leaves_out_ground_truth_beyond_the_loss_cut_off():
    from probes.tasks.depth import DepthTask
    task = DepthTask(max_depth=10.0, loss_max_depth=10.0)
    target = torch.tensor([[[2.0, 12.0]]])
    evaluator = task.new_evaluator()
    evaluator.process(torch.tensor([[[2.0, 5.0]]]), {'depth': target})
    assert evaluator.compute()['rmse'] == pytest.approx(0.0)  # the 12 m pixel is not scored


def test_probe3d_linear_depth_equals_probe3d_pipeline():
    """Probe3D: Linear (x4 align_corners=True, conv k3) -> DepthBinPrediction (relu + 0.1, UD bins) ->
    bilinear align_corners=True to the label size (train_depth.py), recomputed here by hand."""
    torch.manual_seed(0)
    task = DepthTask(min_depth=1e-3, max_depth=10.0, align_corners=True)
    head = task.build_head('probe3d_linear', [6] * 4, pooled_dim=0, kernel_size=3)
    feats = [torch.randn(2, 6, 3, 3) for _ in range(4)]
    x = F.interpolate(torch.cat(feats, 1), scale_factor=4, mode='bilinear', align_corners=True)
    prob = torch.relu(F.conv2d(x, head.conv.weight, head.conv.bias, padding=1)) + 0.1
    prob = prob / prob.sum(1, keepdim=True)
    depth = torch.einsum('ikhw,k->ihw', prob, torch.linspace(1e-3, 10.0, 256))[:, None]
    want = F.interpolate(depth, size=(20, 20), mode='bilinear', align_corners=True)[:, 0]
    assert (task.predict(head(feats), (20, 20)) - want).abs().max() < 1e-5


def test_tips_bins_shift_by_min_depth():
    """TIPS DepthDecoder: relu(logits) + min_depth (0.001), normalised, expectation over linspace bins."""
    logits = torch.tensor([-1.0, 0.0, 2.0])[None, :, None, None]
    p = torch.tensor([1e-3, 1e-3, 2.001])
    want = (p / p.sum() * torch.tensor([1.0, 2.0, 3.0])).sum()
    assert bins_to_depth(logits, 1.0, 3.0, eps=1e-3).item() == pytest.approx(want.item(), rel=1e-6)
