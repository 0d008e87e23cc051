"""Depth metrics against hand-worked examples, numpy and mmseg's DepthMetric."""
import math

import numpy as np
import pytest
import torch
from mmseg.evaluation import DepthMetric

from probes.metrics.depth import (aggregate_depth, depth_error_sums, depth_metrics, depth_valid_mask,
                                  eigen_crop_mask, fit_scale_shift)


def test_prediction_off_by_scale_two():
    gt = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    m = depth_metrics(2 * gt, gt)
    assert m['rmse'] == pytest.approx(math.sqrt((1 + 4 + 9 + 16) / 4))
    assert m['abs_rel'] == pytest.approx(1.0)
    assert m['sq_rel'] == pytest.approx((1 + 2 + 3 + 4) / 4)
    assert m['log10'] == pytest.approx(math.log10(2))
    assert m['rmse_log'] == pytest.approx(math.log(2))
    assert (m['d1'], m['d2'], m['d3']) == (0.0, 0.0, 0.0)  # ratio 2 > 1.25^3 = 1.953
    si = depth_metrics(2 * gt, gt, scale_invariant=True)
    assert si['rmse'] == pytest.approx(0, abs=1e-9) and si['d1'] == 1.0


def test_scale_and_shift_fit_recovers_affine_prediction():
    gen = torch.Generator().manual_seed(0)
    gt = torch.rand(3, 6, 7, generator=gen, dtype=torch.float64) * 5 + 0.5
    pred = (gt - torch.tensor([1.0, -2.0, 0.3]).view(3, 1, 1)) / torch.tensor([0.5, 2.0, 3.0]).view(3, 1, 1)
    gt[0, 0, :] = 0  # ignored by the fit
    pred[0, 0, :] = 100.0
    fitted = fit_scale_shift(pred, gt, gt > 0)
    assert torch.allclose(fitted[gt > 0], gt[gt > 0], atol=1e-9)
    # numpy lstsq on one image as an independent check of the 2x2 normal equations
    p, g = np.random.default_rng(0).uniform(1, 3, (2, 20))
    s, t = np.linalg.lstsq(np.stack([p, np.ones_like(p)], 1), g, rcond=None)[0]
    ours = fit_scale_shift(torch.tensor(p).view(1, 4, 5), torch.tensor(g).view(1, 4, 5),
                           torch.ones(1, 4, 5, dtype=bool))
    assert np.allclose(ours.numpy().ravel(), s * p + t)


def test_per_image_vs_pooled_hand_worked():
    gt = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]])  # 1 valid pixel, then 4
    pred = torch.tensor([[[3.0, 9.0], [9.0, 9.0]], [[1.0, 1.0], [1.0, 2.0]]])
    # image 0: sq err 4 -> rmse 2; image 1: sq errs 0, 0, 0, 1 -> rmse 0.5
    per_image = depth_metrics(pred, gt)
    pooled = depth_metrics(pred, gt, how='pooled')
    assert per_image['rmse'] == pytest.approx((2 + 0.5) / 2)
    assert pooled['rmse'] == pytest.approx(math.sqrt(5 / 5))
    assert per_image['abs_rel'] == pytest.approx((2 + 0.25) / 2)
    assert pooled['abs_rel'] == pytest.approx(3 / 5)
    assert per_image['d1'] == pytest.approx((0 + 0.75) / 2) and pooled['d1'] == pytest.approx(3 / 5)


def _np_metrics(pred, gt):
    v = gt > 0
    d, g = pred[v], gt[v]
    r = np.maximum(d / g, g / d)
    return {'rmse': np.sqrt(np.mean((d - g) ** 2)), 'abs_rel': np.mean(np.abs(d - g) / g),
            'sq_rel': np.mean((d - g) ** 2 / g), 'log10': np.mean(np.abs(np.log10(d) - np.log10(g))),
            'rmse_log': np.sqrt(np.mean((np.log(d) - np.log(g)) ** 2)),
            'd1': np.mean(r < 1.25), 'd2': np.mean(r < 1.25 ** 2), 'd3': np.mean(r < 1.25 ** 3)}


def _random_pair(seed=0, n=4, shape=(480, 640)):
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0.3, 9, (n, *shape)).astype(np.float32)
    gt[rng.random(gt.shape) < 0.2] = 0
    pred = (gt * rng.uniform(0.7, 1.4, gt.shape) + 0.1).astype(np.float32)
    return pred, gt


def test_against_numpy_and_mmseg_depth_metric():
    pred, gt = _random_pair(shape=(24, 32))
    ours = depth_metrics(torch.tensor(pred), torch.tensor(gt))
    ref = {k: np.mean([_np_metrics(p, g)[k] for p, g in zip(pred, gt)]) for k in ours}
    mm = DepthMetric()
    mm.process({}, [{'pred_depth_map': {'data': torch.tensor(p)[None]}, 'gt_depth_map': {'data': torch.tensor(g)[None]},
                     'img_path': f'{i}.png'} for i, (p, g) in enumerate(zip(pred, gt))])
    mm_out = mm.compute_metrics(mm.results)
    for k in ours:
        assert ours[k] == pytest.approx(ref[k], rel=1e-6), k
        assert ours[k] == pytest.approx(mm_out[k], rel=1e-4), k  # mmseg averages its per-sample results too
    pooled = depth_metrics(torch.tensor(pred), torch.tensor(gt), how='pooled')
    for k, v in _np_metrics(pred, gt).items():
        assert pooled[k] == pytest.approx(v, rel=1e-6), k


def test_eigen_crop_matches_mmseg_nyu_crop():
    pred, gt = _random_pair(seed=3, n=2)
    mask = depth_valid_mask(torch.tensor(gt), eigen_crop=True)
    ours = depth_metrics(torch.tensor(pred), torch.tensor(gt), mask=mask)
    mm = DepthMetric(crop_type='nyu_crop')
    mm.process({}, [{'pred_depth_map': {'data': torch.tensor(p)[None]}, 'gt_depth_map': {'data': torch.tensor(g)[None]},
                     'img_path': 'x.png'} for p, g in zip(pred, gt)])
    mm_out = mm.compute_metrics(mm.results)
    for k in ours:
        assert ours[k] == pytest.approx(mm_out[k], rel=1e-4), k
    assert int(eigen_crop_mask(480, 640).sum()) == (471 - 45) * (601 - 41)
    with pytest.raises(ValueError, match='480x640'):
        eigen_crop_mask(480, 480)


def test_nan_inf_zero_ground_truth_is_masked_not_averaged():
    pred, gt = _random_pair(seed=5, n=2, shape=(8, 9))
    bad = gt.copy()
    bad[0, 0, :3] = [np.nan, np.inf, -np.inf]
    clean = gt.copy()
    clean[0, 0, :3] = 0
    got = depth_metrics(torch.tensor(pred), torch.tensor(bad))
    want = depth_metrics(torch.tensor(pred), torch.tensor(clean))
    assert got == pytest.approx(want) and all(np.isfinite(v) for v in got.values())
    sums, count = depth_error_sums(torch.tensor(pred), torch.zeros(2, 8, 9))
    assert count.sum() == 0 and math.isnan(aggregate_depth(sums, count)['rmse'])


def test_wrong_size_or_dtype_raises():
    with pytest.raises(ValueError, match='same size'):
        depth_metrics(torch.ones(1, 4, 4), torch.ones(1, 4, 5))
    with pytest.raises(TypeError, match='millimetres'):
        depth_metrics(torch.ones(1, 4, 4), torch.ones(1, 4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="'per_image' or 'pooled'"):
        depth_metrics(torch.ones(1, 4, 4), torch.ones(1, 4, 4), how='mean')


def test_rmse_and_abs_rel_use_the_raw_prediction_only_logs_and_ratios_are_clamped():
    """A scale-and-shift fit can go negative; Probe3D scores RMSE / AbsRel on the raw values."""
    from probes.metrics.depth import depth_error_sums
    pred, target = torch.tensor([[[-1.0, 2.0]]]), torch.tensor([[[1.0, 2.0]]])
    sums, count = depth_error_sums(pred, target)
    assert count.item() == 2
    assert sums['sq_err'].item() == pytest.approx(4.0)      # (-1 - 1)^2, not (1e-9 - 1)^2
    assert sums['abs_rel'].item() == pytest.approx(2.0)     # |-1 - 1| / 1
    assert sums['d1'].item() == pytest.approx(1.0)          # the negative pixel fails every threshold
