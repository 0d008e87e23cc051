"""Learning rates chosen on a seeded held-out part of the training set, reported on val."""
import json

import pytest

from probes.train import as_config, run_training
from probes.train.holdout import heldout_options, split_indices

SMOKE = 'configs/seg/scenes_linear-dpt_test-smoke.py'


def test_split_is_seeded_disjoint_and_complete():
    train, held = split_indices(20, 0.1, seed=3)
    assert len(held) == 2 and sorted(train + held) == list(range(20))
    assert split_indices(20, 0.1, seed=3) == (train, held) and split_indices(20, 0.1, seed=4)[1] != held
    with pytest.raises(ValueError, match='at least 2'):
        split_indices(1, 0.5, 0)


def test_heldout_reader_is_train_source_with_val_settings():
    train = dict(type='seg_folder', data_root='d', split='training', augment=dict(crop_size=(8, 8)))
    val = dict(type='seg_folder', data_root='d', split='validation', image_resize=512)
    assert heldout_options(train, val) == dict(type='seg_folder', data_root='d', split='training', image_resize=512)


def test_run_selects_on_heldout_and_reports_val(tmp_path):
    cfg = as_config(SMOKE)
    del cfg.data['test']
    cfg.lr_selection = dict(holdout=0.25, seed=0)
    cfg.features = dict(norm_layers=True)
    cfg.work_dir = str(tmp_path)
    run_training(cfg)
    saved = json.loads((tmp_path / 'metrics.json').read_text())
    assert saved['selection'].startswith('held-out 0.25 of train (seed 0)')
    assert set(saved['metrics']) == {'holdout', 'val'}
    assert saved['features'] == dict(norm_layers=True, preprocess='encoder', center_pad=False)  # recorded
    held = saved['metrics']['holdout']
    linear = [k[:-len('/mIoU')] for k in held if k.startswith('seg/linear') and k.endswith('/mIoU')]
    best = saved['best']['seg/linear']['probe']
    assert held[f'{best}/mIoU'] == max(held[f'{n}/mIoU'] for n in linear)
    assert saved['best']['seg/linear']['val']['mIoU'] == saved['metrics']['val'][f'{best}/mIoU']


def test_selection_rejects_a_test_split():
    cfg = as_config(SMOKE)
    cfg.lr_selection = dict(holdout=0.25, seed=0)
    from probes.train.holdout import selection
    with pytest.raises(ValueError, match='data.test'):
        selection(cfg)
