"""Every kNN / correspondence config loads with one level of _base_ and names a registered evaluation, data set and
encoder; every smoke config runs end to end on a fixture written in its data set's layout."""
from pathlib import Path

import numpy as np
import pytest

from dense.datasets import DATASETS
from dense.datasets.fixtures import write_fixture
from dense.datasets.pair_fixtures import WRITERS
from dense.encoders import get_variant
from probes.evaluations import EVALUATIONS, run_evaluation
from probes.evaluations.correspond import PAIR_DATA, PROTOCOLS
from probes.train import as_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / 'configs/knn').glob('*.py')) + sorted((ROOT / 'configs/correspond').glob('*.py'))
SMOKES = [c for c in CONFIGS if c.stem.endswith('_smoke')]


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_is_complete(path):
    for base in (path.parent / '_base_').glob('*.py'):
        assert '_base_ =' not in base.read_text(), f'{base} has a second level of _base_'
    cfg = as_config(path)
    get_variant(cfg.encoder['name'])
    evaluation = cfg.evaluation
    assert evaluation['type'] in EVALUATIONS and path.stem in cfg.work_dir
    if evaluation['type'] == 'knn':
        assert all(evaluation[s]['type'] in DATASETS for s in ('train', 'val'))
    else:
        assert evaluation['data']['type'] in PAIR_DATA and evaluation['protocol'] in PROTOCOLS
    stem = path.stem.split('_')[0]
    assert any(c.stem.startswith(stem) and c.stem.endswith('_smoke') for c in SMOKES), f'{stem}: no smoke variant'


def _fixture(cfg, tmp_path):
    """Write the smoke config's fixture under tmp_path and point the config at it."""
    evaluation = cfg.evaluation
    if evaluation['type'] == 'knn':
        train = evaluation['train']
        if train['type'] == 'seg_folder':
            write_fixture(train['kind'], tmp_path / 'data', num=3, **({'sbd': True} if train.get('sbd') else {}))
            for split in ('train', 'val'):
                evaluation[split]['data_root'] = str(tmp_path / 'data')
        return
    kind = {'navi_pairs': 'navi', 'scannet_pairs': 'scannet', 'spair': 'spair'}.get(evaluation['data']['type'])
    if kind:
        WRITERS[kind](tmp_path / 'data', num=1)
        evaluation['data']['root'] = str(tmp_path / 'data')


@pytest.mark.parametrize('path', SMOKES, ids=lambda p: p.stem)
def test_smoke_config_runs(path, tmp_path):
    cfg = as_config(path)
    _fixture(cfg, tmp_path)
    cfg.work_dir = str(tmp_path / 'run')
    results = run_evaluation(cfg)
    metrics = results['metrics']['test']
    headline = [k for k in metrics if k.endswith(('/mIoU', '/recall@5px', '/pck@0.1'))]
    assert headline and all(np.isfinite(metrics[k]) for k in headline)
    assert (tmp_path / 'run' / 'metrics.json').is_file() and list((tmp_path / 'run' / 'figures').glob('*.png'))
