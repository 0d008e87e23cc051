"""The referring task on the real (random-init 'test') text tower: head inputs, losses, predictions, truncation
warning; both smoke configs end to end through the runner (Acc@0.5 per split in metrics.json and the table)."""
import json
import math
from pathlib import Path

import pytest
import torch

from dense.datasets.fixtures import write_fixture
from dense.text import build_text_encoder
from probes.tasks import build_task
from probes.train import as_config, run_training
from probes.train.results import markdown_table

ROOT = Path(__file__).resolve().parents[1]
KINDS = ('ref_decoder', 'ref_similarity', 'ref_centre', 'ref_largest')


@pytest.fixture(scope='module')
def task():
    task = build_task('ref')
    task.bind_text(build_text_encoder('test'))
    return task


def _batch():
    return dict(image=torch.rand(2, 3, 32, 48), expression=['the red sphere', 'the box left of the cone'],
                target_box=torch.tensor([[4.0, 4, 20, 16], [24.0, 8, 46, 30]]),
                boxes=[torch.tensor([[4.0, 4, 20, 16], [0.0, 0, 40, 30]]), torch.tensor([[24.0, 8, 46, 30]])])


@pytest.mark.parametrize('kind', KINDS)
def test_every_head_trains_and_predicts_through_the_task(task, kind):
    opts = dict(depth=1, width=16, heads=2) if kind == 'ref_decoder' else {}
    head = task.build_head(kind, [8], 0, **opts)
    batch = _batch()
    feats = [torch.randn(2, 8, 2, 3)]
    out = head(feats, None, **task.head_inputs(batch))
    loss = task.loss(out, batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    preds = task.predict(out, (32, 48))
    assert len(preds) == 2 and all(p['box'].shape == (4,) for p in preds)
    for p in preds:
        x0, y0, x1, y1 = p['box'].tolist()
        assert 0 <= x0 <= x1 <= 48 and 0 <= y0 <= y1 <= 32
    if kind == 'ref_largest':  # picks the largest object: box 2 of image 1, the only box of image 2
        assert [p['box'].tolist() for p in preds] == [[0.0, 0.0, 40.0, 30.0], [24.0, 8.0, 46.0, 30.0]]


def test_pooled_decoder_reads_the_embedding_and_box_loss_is_zero_for_a_perfect_box(task):
    head = task.build_head('ref_decoder', [8], 0, query='pooled', depth=1, width=16, heads=2)
    inputs = task.head_inputs(_batch())
    assert inputs['text_embedding'].shape == (2, 32) and head([torch.randn(2, 8, 2, 2)], **inputs)['boxes'].shape == (2, 4)
    batch = _batch()
    perfect = torch.tensor([[12 / 48, 10 / 32, 16 / 48, 12 / 32], [35 / 48, 19 / 32, 22 / 48, 22 / 32]])
    assert task.loss({'boxes': perfect.requires_grad_()}, batch).item() == pytest.approx(0.0, abs=1e-5)


def test_long_expression_is_truncated_with_a_warning(task):
    task.build_head('ref_decoder', [8], 0, depth=1, width=16, heads=2)
    batch = dict(_batch(), expression=['the red sphere ' * 40, 'the box'])
    with pytest.warns(UserWarning, match='longer than 64 tokens'):
        inputs = task.head_inputs(batch)
    assert inputs['text_tokens'].shape[:2] == (2, 64) and inputs['text_mask'][0].all()


def test_task_without_text_tower_says_so():
    with pytest.raises(ValueError, match='no text tower bound'):
        build_task('ref').build_head('ref_decoder', [8], 0)
    with pytest.raises(KeyError, match='not a referring head'):
        build_task('ref').build_head('linear', [8], 0)


@pytest.mark.parametrize('name', ['scenes_decoder-baselines_test-64_smoke', 'refcocox_decoder-baselines_test-64_smoke'])
def test_smoke_config_trains_and_reports_acc_per_split(name, tmp_path):
    cfg = as_config(ROOT / 'configs/ref' / f'{name}.py')
    if cfg.data['train']['type'] == 'refcoco':
        write_fixture('refcocox', tmp_path / 'data')
        for split in ('train', 'val', 'test'):
            cfg.data[split]['root'] = str(tmp_path / 'data')
    cfg.work_dir = str(tmp_path / 'run')
    results = run_training(cfg)
    assert set(results['best']) == {f'ref/{k}' for k in KINDS}
    for split in ('val', 'test'):
        values = results['metrics'][split]
        assert all(not math.isnan(v) for v in values.values())
        assert '| probe (%s) | Acc@0.5 | mIoU |' % split in markdown_table(results, split)
    if cfg.data['train']['type'] == 'refcoco':
        assert '| Acc@0.5 | mIoU | Acc@0.5.refcoco+_val | Acc@0.5.refcoco_val | Acc@0.5.refcocog_val |' in \
            markdown_table(results, 'val')
    if cfg.data['train']['type'] == 'refcoco':
        probe = results['best']['ref/ref_decoder']['probe']
        assert {f'{probe}/Acc@0.5.{s}' for s in ('refcoco_testA', 'refcoco_testB', 'refcoco+_testA', 'refcoco+_testB',
                                                 'refcocog_test')} <= set(results['metrics']['test'])
    assert (tmp_path / 'run' / 'metrics.json').is_file() and (tmp_path / 'run' / 'probes.safetensors').is_file()
    if cfg.data['train']['type'] == 'ref_scenes':
        _predict_with_an_expression(cfg, results['best']['ref/ref_decoder']['probe'], tmp_path)


def _predict_with_an_expression(cfg, probe, tmp_path):
    """``sprobe predict`` grounds an expression: a box JSON inside the image and an overlay; no expression: an error."""
    from PIL import Image
    from dense.scenes import render_scene
    from probes.train.evaluate import run_predict
    Image.fromarray(render_scene(3, (48, 80)).image).save(tmp_path / 'scene.png')
    weights = tmp_path / 'run' / 'probes.safetensors'
    written = run_predict(cfg, weights, [str(tmp_path / 'scene.png')], tmp_path / 'preds', probe, device='cpu',
                          expression='the red sphere')
    assert sorted(p.name for p in written) == ['scene.json', 'scene.png']
    box = json.loads((tmp_path / 'preds' / 'scene.json').read_text())
    x0, y0, x1, y1 = box['box']
    assert box['expression'] == 'the red sphere' and 0 <= x0 <= x1 <= 80 and 0 <= y0 <= y1 <= 48
    with pytest.raises(ValueError, match='--expression'):
        run_predict(cfg, weights, [str(tmp_path / 'scene.png')], tmp_path / 'preds', probe, device='cpu')


def test_scenes_experiment_writes_summary_and_overlays(tmp_path):
    from probes.experiments.ref_scenes import run_experiment
    summary = run_experiment(str(ROOT / 'configs/ref/scenes_decoder-baselines_test-64_smoke.py'), str(tmp_path),
                             {'schedule.max_iters': 1, 'schedule.warmup_iters': 0})
    assert set(summary) >= {'ref_decoder', 'ref_similarity', 'ref_centre', 'ref_largest', 'decoder_probe'}
    assert summary['figures'] and all(Path(p).is_file() for p in summary['figures'])
    assert json.loads((tmp_path / 'summary.json').read_text())['decoder_probe'] == summary['decoder_probe']
    row = f"| decoder (`{summary['decoder_probe']}`) | {summary['ref_decoder']:.2f} |"
    assert row in (tmp_path / 'summary.md').read_text()
    assert summary['encoder_weights'] == 'random-init-seed0'
    assert 'random-init-seed0' in (tmp_path / 'summary.md').read_text()


@pytest.mark.parametrize('path', sorted((ROOT / 'configs/ref').glob('*.py')), ids=lambda p: p.stem)
def test_ref_configs_are_complete(path):
    from dense.datasets import DATASETS
    from probes.heads import HEADS
    cfg = as_config(path)
    assert cfg.tasks == {'ref': {}} and path.stem == Path(cfg.work_dir).name
    assert all(cfg.data[s]['type'] in DATASETS for s in ('train', 'val', 'test'))
    assert all(h in HEADS for g in cfg.probes for h in g['heads'])
    if 'smoke' not in path.stem:  # every experiment has a smoke variant: same data set and heads
        prefix = '_'.join(path.stem.split('_')[:2]) + '_'
        assert any(s.stem.startswith(prefix) for s in (ROOT / 'configs/ref').glob('*_smoke.py'))
