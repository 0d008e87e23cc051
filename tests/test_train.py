"""Task-agnostic trainer: frozen encoder outside the optimizer, one forward per batch, grids, results."""
import json

import pytest
import torch
from safetensors.torch import load_file

from dense.encoders import build_encoder
from probes.train import ProbeMetric, ProbeModel, ProbeSpec, as_config, build_model, expand_grid, run_training, select_best
from probes.train.inference import infer_head_outputs
from probes.train.runner import _optimizer
from probes.train.results import markdown_table
from probes.train.spec import format_lr
from probes.tasks import build_task

SMOKE = 'configs/seg/scenes_linear-dpt_test-smoke.py'


def _model(**inference):
    enc = build_encoder('test')
    specs = expand_grid(dict(task='seg', heads=['linear'], layers=[[-1], 'default'], lrs=[1e-2, 1e-3],
                             pooled=[False, True]), enc.depth, enc.default_layers)
    return ProbeModel(enc, {'seg': build_task('seg', num_classes=3)}, specs, inference or None)


def test_names_carry_hyperparameters():
    assert format_lr(1e-3) == '1e-3' and format_lr(2.5e-4) == '2p5e-4' and format_lr(0.1) == '1e-1'
    spec = ProbeSpec('seg', 'dpt', (2, 5, 8, 11), 5e-4, pooled=True)
    assert spec.name == 'seg/dpt_l2-5-8-11_lr5e-4_pool' and spec.group == 'seg/dpt'


def test_grid_expansion_and_errors():
    specs = expand_grid(dict(task='seg', heads=['linear', 'bn_linear'], layers=[[-1], [0, 1]], lrs=[1e-3, 1e-4]),
                        depth=4, default_layers=(0, 1, 2, 3))
    assert len(specs) == 8 and {s.layers for s in specs} == {(3,), (0, 1)}
    with pytest.raises(ValueError, match='out of range'):
        expand_grid(dict(task='seg', heads=['linear'], layers=[[7]], lrs=[1e-3]), 4, (0, 1, 2, 3))
    with pytest.raises(ValueError, match='duplicate'):
        expand_grid(dict(task='seg', heads=['linear'], layers=[[-1], [3]], lrs=[1e-3]), 4, (0, 1, 2, 3))
    with pytest.raises(ValueError, match='unknown keys'):
        expand_grid(dict(task='seg', heads=['linear'], lr=[1e-3]), 4, (0, 1, 2, 3))


def test_encoder_is_frozen_and_outside_the_optimizer():
    model = _model()
    enc_params = {id(p) for p in model.encoder.parameters()}
    assert enc_params and not enc_params & {id(p) for p in model.parameters()}
    assert not any(k.startswith('encoder') for k in model.state_dict())
    optim = _optimizer(as_config(dict(optimizer={})), model).optimizer
    in_optim = {id(p) for g in optim.param_groups for p in g['params']}
    assert in_optim == {id(p) for p in model.probes.parameters()}
    assert sorted(g['lr'] for g in optim.param_groups) == sorted(s.lr for s in model.specs.values())
    assert not any(p.requires_grad for p in model.encoder.parameters())


def test_one_encoder_forward_per_batch_feeds_every_probe():
    model = _model()
    calls = []
    model.encoder.register_forward_hook(lambda *a: calls.append(1))
    batch = dict(image=torch.rand(2, 3, 64, 64), seg=torch.randint(0, 3, (2, 64, 64)))
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    losses = model(batch, mode='loss')
    assert len(calls) == 1 and len(losses) == len(model.probes) == 8
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in model.probes.parameters())
    assert all(torch.equal(v, model.encoder.state_dict()[k]) for k, v in before.items())
    (out,) = model(batch, mode='predict')
    assert set(out['preds']) == set(model.specs) and out['preds'][next(iter(model.specs))].shape == (2, 64, 64)


def test_slide_and_multiscale_inference():
    model = _model()
    x = torch.rand(1, 3, 64, 64)
    whole = infer_head_outputs(model.head_outputs, x)
    one_window = infer_head_outputs(model.head_outputs, x, mode='slide', crop_size=(64, 64), stride=(32, 32))
    for name, out in whole.items():
        up = torch.nn.functional.interpolate(out, size=(64, 64), mode='bilinear', align_corners=False)
        assert torch.allclose(up, one_window[name], atol=1e-5)
    multi = infer_head_outputs(model.head_outputs, torch.rand(1, 3, 96, 80), mode='slide', crop_size=(64, 64),
                               stride=(32, 32), scales=(0.75, 1.0))
    assert all(v.shape[-2:] == (96, 80) and torch.isfinite(v).all() for v in multi.values())
    with pytest.raises(ValueError, match='crop_size'):
        infer_head_outputs(model.head_outputs, x, mode='slide')


def test_select_best_uses_the_task_direction():
    specs = [ProbeSpec('seg', 'linear', (3,), lr) for lr in (1e-2, 1e-3)]
    metrics = {f'{specs[0].name}/mIoU': 10.0, f'{specs[1].name}/mIoU': float('nan')}
    assert select_best(metrics, specs, {'seg': build_task('seg', num_classes=2)}) == {'seg/linear': specs[0].name}


def test_smoke_run_writes_results(tmp_path):
    cfg = as_config(SMOKE)
    cfg.work_dir = str(tmp_path)
    results = run_training(cfg)
    saved = json.loads((tmp_path / 'metrics.json').read_text())
    assert saved['config_hash'] == results['config_hash'] and len(saved['config_hash']) == 64
    assert saved['encoder'] == 'test' and len(saved['encoder_weights_sha256']) == 64
    assert {'torch', 'mmengine', 'mmseg'} <= set(saved['versions'])
    model = build_model(cfg, build_encoder('test'))
    for split in ('val', 'test'):
        assert {f'{name}/mIoU' for name in model.specs} <= set(saved['metrics'][split])
    assert set(saved['best']) == {'seg/linear', 'seg/dpt'}
    best = saved['best']['seg/linear']['probe']
    linear = [n for n in model.specs if n.startswith('seg/linear')]
    assert f'{best}/IoU.ground' in saved['metrics']['val']  # per-class numbers in the JSON (not in the log)
    assert saved['metrics']['val'][f'{best}/mIoU'] == max(saved['metrics']['val'][f'{n}/mIoU'] for n in linear)
    assert (tmp_path / 'config.py').read_text().startswith('data')
    assert set(load_file(str(tmp_path / 'probes.safetensors'))) == set(model.probes.state_dict())
    assert list(tmp_path.glob('iter_*.pth')) and not list(tmp_path.glob('*.tmp'))


def test_markdown_table_one_table_per_task_with_its_columns():
    results = {'metrics': {'val': {'seg/linear_l3_lr1e-3/mIoU': 12.345, 'seg/linear_l3_lr1e-3/mAcc': 20.0,
                                   'seg/linear_l3_lr1e-3/aAcc': 70.0, 'seg/linear_l3_lr1e-3/IoU.0': 1.0,
                                   'other/linear_l3_lr1e-3/score': 0.5}},
               'best': {'seg/linear': {'probe': 'seg/linear_l3_lr1e-3'}}}
    table = markdown_table(results)
    assert '| probe (val) | mIoU | mAcc | aAcc |\n|---|---|---|---|\n| seg/linear_l3_lr1e-3 (best) | 12.35 | 20.00 | 70.00 |' \
        in table
    assert '| probe (val) | score |' in table and '| other/linear_l3_lr1e-3 | 0.50 |' in table


def test_probe_metric_logs_table_metrics_and_keeps_everything():
    spec = ProbeSpec('seg', 'linear', (3,), 1e-3)
    metric = ProbeMetric({'seg': build_task('seg', num_classes=2)}, [spec])
    label = torch.tensor([[[0, 1], [1, 1]]])
    metric.process(None, [dict(preds={spec.name: label.clone()}, batch={'seg': label})])
    logged = metric.evaluate(1)
    assert set(logged) == {f'{spec.name}/{m}' for m in ('mIoU', 'mAcc', 'aAcc')}
    assert metric.last_metrics[f'{spec.name}/IoU.1'] == 100.0 and logged[f'{spec.name}/mIoU'] == 100.0


def test_flip_inference_averages_the_mirrored_view_back_in_the_original_frame():
    x = torch.rand(2, 3, 16, 24)
    identity = lambda images: {'p': images}  # noqa: E731  (an equivariant "probe": the image itself)
    out = infer_head_outputs(identity, x, flip=True, scales=(1.0,))
    assert torch.allclose(out['p'], x, atol=1e-6)
    # a probe that ignores the mirror (outputs depend on absolute column) is averaged with its mirrored output
    column = lambda images: {'p': torch.arange(images.shape[-1]).float().expand(1, 1, *images.shape[-2:])}  # noqa
    averaged = infer_head_outputs(column, x, flip=True)['p'][0, 0, 0]
    assert torch.allclose(averaged, torch.full((24,), 11.5))


def test_normals_unflip_negates_x():
    task = build_task('normals', uncertainty=True)
    field = torch.randn(1, 4, 5, 7)
    mirrored = field.flip(-1) * torch.tensor([-1.0, 1, 1, 1])[:, None, None]  # what a mirrored image shows
    assert torch.allclose(task.unflip(mirrored), field)


def test_probe_model_flip_uses_each_tasks_unflip():
    cfg = as_config('configs/joint/scenes_seg_depth_normals_test64_smoke.py')
    cfg.inference = dict(flip=True)
    model = build_model(cfg, build_encoder('test')).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        plain, mirrored, both = model.head_outputs(x), model.head_outputs(x.flip(-1)), model.infer(x)
    for name, out in both.items():
        task = model.tasks[model.specs[name].task]
        back = task.unflip(mirrored[name]) if hasattr(task, 'unflip') else mirrored[name].flip(-1)
        up = [torch.nn.functional.interpolate(v, size=(64, 64), mode='bilinear') for v in (plain[name], back)]
        if task.name == 'seg':  # views merged as probabilities (mmseg), returned as log-probabilities
            expected = ((up[0].softmax(1) + up[1].softmax(1)) / 2).log()
        else:
            expected = (up[0] + up[1]) / 2
        assert torch.allclose(out, expected, atol=1e-5), name


def test_segmentation_views_merge_as_probabilities_not_logits():
    # 2 classes, 3 views with logit gaps +10, -2, -2: mean logits pick class 0, mean probabilities class 1
    views = [torch.tensor([g, 0.0]).view(1, 2, 1, 1) for g in (10.0, -2.0, -2.0)]
    merged = build_task('seg', num_classes=2).merge_views(views)
    assert torch.stack(views).mean(0).argmax(1).item() == 0 and merged.argmax(1).item() == 1
    assert torch.allclose(merged.exp().sum(1), torch.ones(1, 1, 1))


def test_cross_entropy_divides_by_every_pixel_like_mmseg_unless_asked():
    logits = torch.randn(1, 3, 4, 4)
    labels = torch.randint(0, 3, (1, 4, 4))
    labels[0, :2] = 255  # half the pixels unlabelled
    batch = {'seg': labels}
    per_labelled = torch.nn.functional.cross_entropy(logits, labels, ignore_index=255)
    assert torch.allclose(build_task('seg', num_classes=3).loss(logits, batch), per_labelled / 2)
    assert torch.allclose(build_task('seg', num_classes=3, avg_non_ignore=True).loss(logits, batch), per_labelled)
