"""Dense correspondence: scene pairs checked by an independent reprojection, Probe3D matching, oracle and random
features, bad pairs, the run and its figures."""
import json

import numpy as np
import pytest
import torch

from dense.encoders import build_encoder
from dense.scenes.layout import sample_layout
from dense.scenes.pairs import ScenePairs, render_pair
from probes.evaluations import run_evaluation
from probes.evaluations.correspond import Correspondence
from probes.metrics.correspondence import binned_recall, ratio_test_matches

SIZE = (48, 64)


def _pose_1(seed: int, yaw_deg: float):
    """Camera 1 of a pair, rebuilt here: the layout camera turned by ``yaw`` about the vertical through the ground
    point where its optical axis lands."""
    cam = sample_layout(seed).camera
    p, r = cam.pitch, cam.roll
    down, fwd = np.array([0, -np.cos(p), -np.sin(p)]), np.array([0, -np.sin(p), np.cos(p)])
    right = np.array([1.0, 0, 0])
    axes = np.stack([np.cos(r) * right + np.sin(r) * down, -np.sin(r) * right + np.cos(r) * down, fwd], 1)
    origin = np.array([0, cam.height, 0])
    pivot = origin + fwd * (cam.height / np.sin(p))
    a = np.radians(yaw_deg)
    turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return (axes, origin), (turn @ axes, pivot + turn @ (origin - pivot)), cam.focal(SIZE)


def test_scene_pair_reprojects_independently():
    seed = 1_000_002
    pair = render_pair(seed, SIZE)
    (axes_0, origin_0), (axes_1, origin_1), f = _pose_1(seed, pair.yaw)
    h, w = SIZE
    rows, cols = np.mgrid[0:h, 0:w]
    depth_0 = pair.view_0.depth
    ray = np.stack([(cols + 0.5 - w / 2) / f, (rows + 0.5 - h / 2) / f, np.ones_like(depth_0)], -1)
    world = origin_0 + (depth_0[..., None] * ray) @ axes_0.T          # view-0 pixels in the world
    local_1 = (world - origin_1) @ axes_1                               # ... seen from camera 1
    uv = local_1[..., :2] / local_1[..., 2:] * f + np.array([w / 2, h / 2])
    np.testing.assert_allclose(pair.flow_0to1, uv, atol=1e-3)
    np.testing.assert_allclose(pair.xyz_0 @ pair.Rt_01[:, :3].T + pair.Rt_01[:, 3], local_1, atol=1e-3)
    vis = pair.visible_0
    assert 0.2 < vis.mean() < 1.0
    # a visible point is what view 1 sees at its pixel: view 1's depth there rebuilds the same world point
    c, r = np.floor(uv[vis]).astype(int).T
    ray_1 = np.stack([(c + 0.5 - w / 2) / f, (r + 0.5 - h / 2) / f, np.ones(len(c))], -1)
    seen = origin_1 + (pair.view_1.depth[r, c][:, None] * ray_1) @ axes_1.T
    footprint = local_1[vis][:, 2] / f                                   # metres spanned by one pixel
    assert np.median(np.linalg.norm(seen - world[vis], axis=1) / footprint) < 1.0
    assert pair.angle == abs(pair.yaw) and pair.angle <= 60


def test_ratio_test_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    f0, f1 = torch.randn(40, 6, generator=g), torch.randn(30, 6, generator=g)
    idx0, idx1, weight = ratio_test_matches(f0, f1, num_corr=10, chunk=7)
    a = f0.numpy() / np.linalg.norm(f0.numpy(), axis=1, keepdims=True)
    b = f1.numpy() / np.linalg.norm(f1.numpy(), axis=1, keepdims=True)
    dist = 1 - a @ b.T
    order = np.argsort(dist, axis=1)
    d1, d2 = np.take_along_axis(dist, order[:, :2], 1).T
    w = 1 - d1 / d2
    best = np.argsort(-w)[:10]
    np.testing.assert_array_equal(idx0.numpy(), best)
    np.testing.assert_array_equal(idx1.numpy(), order[best, 0])
    np.testing.assert_allclose(weight.numpy(), w[best], atol=1e-5)
    with pytest.raises(ValueError, match='points in both views'):
        ratio_test_matches(f0, f1[:1], 5)


def test_binned_recall_leaves_empty_bins_out():
    out = binned_recall(torch.tensor([1.0, 0.5, 0.0]), torch.tensor([5.0, 10.0, 50.0]), (0, 15, 30, 60))
    assert out == {'0-15deg': 75.0, '30-60deg': 0.0}


class _Oracle(Correspondence):
    """Features = random Fourier features of each pixel's true 3D point in camera 1's frame (or pure noise)."""

    def __init__(self, *args, random=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.random = random
        self.freqs = torch.randn(3, 128, generator=torch.Generator().manual_seed(0)) / 0.3

    def pair_features(self, pair):
        if self.random:
            return torch.randn(16, 3, 4), torch.randn(16, 3, 4)
        Rt = pair['Rt_01']
        x0 = torch.einsum('ij,jhw->ihw', Rt[:, :3], pair['xyz_0']) + Rt[:, 3, None, None]
        return tuple(torch.cat([torch.cos(p), torch.sin(p)]) for p in
                     (torch.einsum('ik,ihw->khw', self.freqs, x) for x in (x0, pair['xyz_1'])))


def test_true_3d_features_score_one_random_near_chance(tmp_path):
    data = dict(type='scene_pairs', split='val', size=SIZE, num=3)
    oracle = _Oracle(build_encoder('test'), tmp_path, data=data, scale_factor=1.0, num_figures=0)
    metrics = oracle.run()
    assert metrics['scenes/recall@5px'] == 100.0 and metrics['scenes/pairs'] == 3
    assert metrics['scenes/blind/recall@5px'] < 100.0  # the blind matcher never reads the (overridden) features
    noise = _Oracle(build_encoder('test'), tmp_path, data=data, random=True, num_figures=0).run()
    assert noise['scenes/recall@5px'] < 10  # chance: a 5 px disc is ~2.5% of a 48 x 64 image


def test_pairs_without_overlap_are_skipped_then_refused(tmp_path):
    pairs = [ScenePairs('val', SIZE, num=2)[i] for i in range(2)]
    pairs[1] = dict(pairs[1], xyz_1=torch.zeros_like(pairs[1]['xyz_1']))
    evaluation = _Oracle(build_encoder('test'), tmp_path, data=dict(type='scene_pairs'), num_figures=0)
    metrics = evaluation.geometric(pairs)
    assert metrics['scenes/skipped_pairs'] == 1 and metrics['scenes/pairs'] == 1
    with pytest.raises(ValueError, match='all 1 pairs were skipped'):
        evaluation.geometric(pairs[1:])


def test_scene_pairs_run_writes_metrics_and_figures(tmp_path):
    cfg = dict(encoder=dict(name='test', weights=None), work_dir=str(tmp_path),
               evaluation=dict(type='correspond', protocol='scenes', num_figures=1,
                               data=dict(type='scene_pairs', split='val', size=SIZE, num=2)))
    run_evaluation(cfg, kind='correspond')
    metrics = json.loads((tmp_path / 'metrics.json').read_text())['metrics']['test']
    assert {'scenes/recall@5px', 'scenes/recall@10px', 'scenes/recall@20px'} <= set(metrics)
    assert all(np.isfinite(v) for v in metrics.values())
    assert (tmp_path / 'figures' / 'correspond_scenes_0.png').is_file()
    with pytest.raises(ValueError, match='unknown options'):
        Correspondence(build_encoder('test'), tmp_path, data=cfg['evaluation']['data'], thresholds=(1,))


def test_block_features_and_feature_cache(tmp_path):
    evaluation = Correspondence(build_encoder('test'), tmp_path, layer=1, num_figures=0,
                                data=dict(type='scene_pairs', split='val', size=SIZE, num=1))
    metrics = evaluation.run()
    assert np.isfinite(metrics['scenes/recall@10px'])
    assert set(evaluation.cache) == {'scenes/val/0/0', 'scenes/val/0/1'}
    assert evaluation.cache['scenes/val/0/0'].shape == (32, 3, 4)  # block 1 of the 'test' encoder, 48 x 64 px


def test_blind_matcher_and_wide_pair_recall(tmp_path):
    """The blind matcher sees no image (position code only): on pairs with no camera motion it matches every point
    to itself and scores 100; the wide recall is the mean per-pair recall of the pairs at or beyond ``wide_from``."""
    pairs = [ScenePairs('val', SIZE, num=4)[i] for i in range(4)]
    still = [dict(p, image_1=p['image_0'], xyz_1=p['xyz_0'], Rt_01=torch.eye(4)[:3], angle=0.0) for p in pairs[:2]]
    evaluation = Correspondence(build_encoder('test'), tmp_path, data=dict(type='scene_pairs'), num_figures=0,
                                scale_factor=1.0, wide_from=30)
    blind = evaluation.geometric(still)
    assert blind['scenes/blind/recall@5px'] == 100.0 and 'scenes/recall@10px_wide' not in blind
    assert 'scenes/blind/pairs' not in blind and blind['scenes/pairs'] == 2
    assert torch.equal(*evaluation.blind_features(pairs[0]['image_0'])[None].expand(2, -1, -1, -1))
    mixed = [dict(p, angle=a) for p, a in zip(pairs, (10.0, 35.0, 50.0, 20.0))]
    metrics = evaluation.geometric(mixed)
    single = [evaluation.geometric([p])['scenes/recall@10px'] for p in mixed]  # one pair: its own recall
    assert metrics['scenes/recall@10px_wide'] == pytest.approx((single[1] + single[2]) / 2, abs=1e-3)
    assert metrics['scenes/recall@10px_0-15deg'] == pytest.approx(single[0], abs=1e-3)


def test_table_rows_keep_their_own_columns():
    """``scenes/blind/...`` is a row of its own in the results table, not extra columns of ``scenes``."""
    from probes.train.results import markdown_table
    values = {'scenes/recall@5px': 20.0, 'scenes/pairs': 4.0, 'scenes/blind/recall@5px': 30.0}
    table = markdown_table({'metrics': {'test': values}}, 'test').splitlines()
    assert table[0] == '| probe (test) | recall@5px | pairs |'
    assert table[2:] == ['| scenes | 20.00 | 4.00 |', '| scenes/blind | 30.00 | n/a |']
