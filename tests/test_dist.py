"""Distributed probe runs on CPU (gloo): torchrun with 2 processes gives the metrics of 1 process, extraction
writes the cache shards per rank, evaluation counts every sample exactly once with an uneven last batch."""
import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from dense.cache import FeatureCache
from probes.tasks import build_task
from mmengine.config import Config

from probes.train import ProbeMetric, ProbeSpec, run_training
from probes.train.dist import gather_evaluators, merge_evaluator

CONFIG = """
encoder = dict(name='test', weights=None)
tasks = dict(seg=dict(num_classes=6))
probes = [dict(task='seg', heads=['linear'], layers=[[-1], 'default'], lrs=[1e-2], pooled=[False, True])]
data = dict(train=dict(type='scenes', split='train', size=(32, 32), num=8),
            val=dict(type='scenes', split='val', size=(32, 32), num=5))
val_batch_size = 2
schedule = dict(max_iters=4, warmup_iters=0, policy='cosine', log_interval=2)
seed = 0
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _train(tmp_path, name: str, nproc: int, *options: str) -> dict:
    config = tmp_path / 'cfg.py'
    config.write_text(CONFIG)
    work_dir = tmp_path / name
    command = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
               f'--master_port={_free_port()}', '-m', 'dense.cli', 'train', str(config), '--work-dir', str(work_dir),
               '--cfg-options', f'train_batch_size={4 // nproc}', *options]
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=os.getcwd())
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((work_dir / 'metrics.json').read_text())['metrics']['val']


@pytest.mark.slow
def test_two_gloo_processes_match_one(tmp_path):
    """Batch 4 on one process vs 2 x 2 under DDP (gradients averaged over the ranks): same sample sets per step,
    so the metrics agree to 1e-4 (float summation order only). The 2-process run also extracts the training
    cache data-parallel (shards per rank, manifest by rank 0) and trains from it; validation on 5 images with
    batch 2 leaves rank 0 three samples and rank 1 two, each counted once."""
    cfg = Config.fromstring(CONFIG, '.py')
    cfg.merge_from_dict(dict(train_batch_size=4, work_dir=str(tmp_path / 'one')))
    one = run_training(cfg)['metrics']['val']
    cache = f'cache.root={tmp_path / "cache"}'
    two = _train(tmp_path, 'two', 2, cache, 'cache.dtype=float32', 'cache.shard_size=3')
    assert one.keys() == two.keys() and any(k.endswith('/mIoU') for k in one)
    for key in one:
        assert abs(one[key] - two[key]) <= 1e-4 * max(1.0, abs(one[key])), key
    (folder,) = (tmp_path / 'cache').iterdir()
    assert sorted(p.name for p in folder.glob('shard-*')) == [f'shard-0000{i}.safetensors' for i in range(3)]
    assert len(FeatureCache(folder)) == 8


def test_evaluators_merged_across_ranks_count_each_sample_once():
    """Evaluator states fed halves and merged equal one fed everything (sums add, per-image lists concatenate)."""
    torch.manual_seed(0)
    preds, depth = torch.rand(5, 8, 8) * 5 + 0.1, torch.rand(5, 8, 8) * 5 + 0.1
    seg_pred, seg = torch.randint(0, 3, (5, 8, 8)), torch.randint(0, 3, (5, 8, 8))
    tasks = {'depth': build_task('depth', max_depth=10.0), 'seg': build_task('seg', num_classes=3)}
    whole = {name: task.new_evaluator() for name, task in tasks.items()}
    parts = [{name: task.new_evaluator() for name, task in tasks.items()} for _ in range(2)]
    for index in range(5):
        for evaluators in (whole, parts[index % 2]):
            evaluators['depth'].process(preds[index:index + 1], {'depth': depth[index:index + 1]})
            evaluators['seg'].process(seg_pred[index:index + 1], {'seg': seg[index:index + 1]})
    for name in tasks:
        merged = merge_evaluator(parts[0][name], parts[1][name]).compute()
        expected = whole[name].compute()
        assert merged.keys() == expected.keys()
        for key, value in expected.items():
            assert merged[key] == pytest.approx(value, rel=1e-6, nan_ok=True), key
    assert gather_evaluators(whole, 5) == (whole, 5)  # one process: unchanged


def test_metric_refuses_padded_or_dropped_samples():
    spec = ProbeSpec('seg', 'linear', (1,), 1e-3)
    metric = ProbeMetric({'seg': build_task('seg', num_classes=2)}, [spec])
    metric.process(None, [dict(preds={spec.name: torch.zeros(2, 4, 4, dtype=torch.long)},
                               batch=dict(seg=torch.zeros(2, 4, 4, dtype=torch.long), meta=[{}, {}]))])
    with pytest.raises(ValueError, match='saw 2 samples but the data set has 3'):
        metric.evaluate(3)
