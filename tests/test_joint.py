"""Joint seg + depth + normals training from one encoder forward per batch, and the geometry smoke configs."""
import json

import pytest

from dense.encoders import build_encoder
from probes.tasks import TASKS
from probes.tasks.depth import DepthTask
from probes.tasks.normals import NormalsTask
from probes.train import as_config, run_training


def test_geometry_tasks_are_registered():
    assert TASKS['depth'] is DepthTask and TASKS['normals'] is NormalsTask


def test_joint_run_one_forward_per_batch(tmp_path):
    cfg = as_config('configs/joint/scenes_seg_depth_normals_test64_smoke.py')
    cfg.work_dir = str(tmp_path)
    encoder = build_encoder('test')
    calls = []
    encoder.register_forward_hook(lambda *args: calls.append(1))
    results = run_training(cfg, encoder=encoder)
    # 4 training iterations + 2 val batches + 2 test batches, for 4 probes of 3 tasks
    assert len(calls) == 4 + 2 + 2
    saved = json.loads((tmp_path / 'metrics.json').read_text())
    assert saved['config_hash'] == results['config_hash']
    assert set(saved['best']) == {'seg/linear', 'depth/linear', 'depth/dpt', 'normals/dpt'}
    test = saved['metrics']['test']
    depth_probe = saved['best']['depth/dpt']['probe']
    normal_probe = saved['best']['normals/dpt']['probe']
    for key in ('rmse', 'abs_rel', 'log10', 'rmse_log', 'd1', 'd2', 'd3', 'si_rmse', 'si_d1'):
        assert test[f'{depth_probe}/{key}'] >= 0
    for key in ('mean', 'median', 'rmse', 'a11.25', 'a22.5', 'a30'):
        assert 0 <= test[f'{normal_probe}/{key}'] <= 180
    assert any(k.startswith('seg/linear') and k.endswith('/mIoU') for k in test)


@pytest.mark.parametrize('config', ['configs/depth/scenes_linear_dpt_test64_smoke.py',
                                    'configs/normals/scenes_linear_dpt_test64_smoke.py'])
def test_geo_smoke_configs(tmp_path, config):
    cfg = as_config(config)
    cfg.work_dir = str(tmp_path)
    results = run_training(cfg)
    task = next(iter(cfg.tasks))
    assert set(results['best']) == {f'{task}/linear', f'{task}/dpt'}
    assert all(v == v for v in results['metrics']['val'].values())  # no NaN: every val image has labels


def test_geo_scenes_baselines_hand_worked():
    import torch

    from probes.experiments.geo_scenes import baseline_metrics, training_statistics
    up, side = torch.tensor([0.0, -1.0, 0.0]), torch.tensor([1.0, 0.0, 0.0])
    samples = []
    for depth_value in (2.0, 4.0):
        normals = up.view(3, 1, 1).repeat(1, 4, 4)
        normals[:, 0] = side.view(3, 1)  # 4 of 16 pixels face sideways: 'up' is the most common normal
        depth = torch.full((4, 4), depth_value)
        depth[0, 0] = 0  # invalid, not averaged in
        samples.append(dict(image=torch.rand(3, 4, 4), depth=depth, normals=normals, meta={}))
    mean_depth, common = training_statistics(samples)
    assert mean_depth == pytest.approx(3.0) and torch.allclose(common, up)
    base = baseline_metrics(samples, DepthTask(), NormalsTask(), mean_depth, common)
    assert base['depth']['rmse'] == pytest.approx(1.0)  # |2 - 3| and |4 - 3| everywhere
    assert base['normals']['mean'] == pytest.approx(90 * 4 / 16)


def test_depth_loss_ignores_ground_truth_beyond_the_cut_off():
    import torch
    task = DepthTask(max_depth=10.0, loss_max_depth=5.0)
    out = torch.randn(1, 256, 4, 4)
    depth = torch.full((1, 8, 8), 3.0)
    far = depth.clone()
    far[0, :4] = 8.0  # beyond 5 m: treated as missing
    near_only = depth.clone()
    near_only[0, :4] = 0.0
    assert task.loss(out, {'depth': far}).item() == pytest.approx(task.loss(out, {'depth': near_only}).item())


def test_geo_scenes_command_end_to_end(tmp_path, capsys):
    import argparse

    from probes.experiments.geo_scenes import add_arguments, run
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(['--config', 'configs/joint/scenes_seg_depth_normals_test64_smoke.py',
                              '--work-dir', str(tmp_path), '--max-iters', '2'])
    status = run(args)
    summary = json.loads((tmp_path / 'geo_scenes.json').read_text())
    assert status == (0 if summary['probes_beat_baselines'] else 1)
    assert summary['depth_rmse']['mean_depth_baseline'] > 0 and summary['split'] == 'test'
    assert '| depth RMSE (m) |' in capsys.readouterr().out
