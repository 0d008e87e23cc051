"""Embedded scenes as a data set, the majority-class baseline, and the must-show experiment on the smoke config."""
import math
import random

import torch

from dense.datasets import ScenesDataset
from dense.scenes import SceneSet
from probes.experiments.seg_scenes import majority_baseline, majority_class, run_experiment
from probes.train import as_config

SMOKE = 'configs/seg/scenes_linear-dpt_test-smoke.py'


def test_scene_samples_follow_the_batch_contract():
    ds = ScenesDataset('val', size=(32, 48), num=3)
    sample, scene = ds[1], SceneSet('val', size=(32, 48), num=3)[1]
    assert len(ds) == 3 and ds.num_classes == 6
    assert sample['image'].shape == (3, 32, 48) and sample['image'].dtype == torch.float32
    assert torch.equal(sample['image'], torch.from_numpy(scene.image).permute(2, 0, 1).float() / 255)
    assert torch.equal(sample['seg'], torch.from_numpy(scene.semantic).long())
    assert sample['depth'].shape == (32, 48) and sample['normals'].shape == (3, 32, 48)
    flipped = ScenesDataset('val', size=(32, 48), num=3, augment=dict(flip=True))
    random.seed(1)  # random.random() < 0.5 with this seed: the sample is flipped
    f = flipped[1]
    assert torch.equal(f['seg'], sample['seg'].flip(-1))
    assert torch.allclose(f['normals'][0], -sample['normals'][0].flip(-1))


def test_majority_baseline_is_the_training_argmax():
    cfg = as_config(SMOKE)
    train = ScenesDataset('train', size=(64, 64), num=16)
    counts = torch.stack([torch.bincount(train[i]['seg'].flatten(), minlength=6) for i in range(16)]).sum(0)
    assert majority_class(train, 6) == int(counts.argmax())
    baseline, majority = majority_baseline(cfg), int(counts.argmax())
    assert baseline[f'IoU.{majority}'] > 0 and baseline['aAcc'] == baseline[f'IoU.{majority}']
    for c in range(6):
        assert c == majority or baseline[f'IoU.{c}'] == 0 or math.isnan(baseline[f'IoU.{c}'])


def test_experiment_reports_the_three_numbers(tmp_path):
    summary = run_experiment(SMOKE, str(tmp_path))
    assert set(summary) == {'best_linear_probe', 'best_linear_mIoU', 'best_dpt_probe', 'best_dpt_mIoU',
                            'majority_class_mIoU', 'encoder_weights'}
    assert summary['encoder_weights'] == 'random-init-seed0'
    assert summary['best_linear_probe'].startswith('seg/linear') and summary['best_dpt_probe'].startswith('seg/dpt')
    assert (tmp_path / 'summary.json').is_file()


def test_scenes_dataset_cache_renders_once_and_returns_the_same_samples(monkeypatch):
    from dense.datasets.scenes import ScenesDataset
    cached, plain = ScenesDataset('val', size=(32, 32), num=2), ScenesDataset('val', size=(32, 32), num=2, cache=False)
    first = cached[1]
    calls = []
    monkeypatch.setattr(type(cached.scenes), '__getitem__', lambda self, i: calls.append(i))
    again = cached[1]
    assert calls == []  # served from memory
    for key in ('image', 'seg', 'depth', 'normals'):
        assert torch.equal(first[key], again[key])
    monkeypatch.undo()
    assert all(torch.equal(first[k], plain[1][k]) for k in ('image', 'seg', 'depth', 'normals'))
