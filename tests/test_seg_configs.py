"""Every segmentation config loads with one level of _base_, names a known encoder / data set, expands its probe
grids; every smoke config trains end to end on a fixture in seconds."""
from pathlib import Path

import pytest

from dense.datasets import DATASETS, LAYOUTS
from dense.datasets.fixtures import write_fixture
from dense.encoders import get_variant
from probes.heads import HEADS
from probes.tasks import TASKS
from probes.train import as_config, expand_grid, run_training

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / 'configs/seg').glob('*.py'))
SMOKES = [c for c in CONFIGS if c.stem.endswith('test-smoke') and not c.stem.startswith('scenes')]


def test_there_are_protocol_and_smoke_configs():
    names = {c.stem for c in CONFIGS}
    for ds in ('ade20k', 'voc'):
        assert f'{ds}_linear-dpt_siglip2-so400m14-384' in names and f'{ds}_bnlinear_siglip2-b16-512' in names
        assert f'{ds}_linear-dpt_test-smoke' in names and f'{ds}_bnlinear_test-smoke' in names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_is_complete(path):
    for base in (ROOT / 'configs/_base_').glob('*.py'):
        assert '_base_' not in base.read_text(), f'{base} has a second level of _base_'
    cfg = as_config(path)
    variant = get_variant(cfg.encoder['name'])
    assert set(cfg.tasks) <= set(TASKS)
    for split in ('train', 'val'):
        data = cfg.data[split]
        assert data['type'] in DATASETS and (data['type'] != 'seg_folder' or data['kind'] in LAYOUTS)
    grids = cfg.probes if isinstance(cfg.probes, (list, tuple)) else [cfg.probes]
    specs = [s for g in grids for s in expand_grid(dict(g), variant.depth, tuple(range(4)))]
    assert specs and all(s.head in HEADS for s in specs)
    assert cfg.schedule['max_iters'] > cfg.schedule.get('warmup_iters', 0)
    assert path.stem in cfg.work_dir


@pytest.mark.parametrize('path', SMOKES, ids=lambda p: p.stem)
def test_smoke_config_runs(path, tmp_path):
    cfg = as_config(path)
    kind = cfg.data['train'].get('kind', 'custom')  # seg_custom: image / mask folders under data_root
    write_fixture(kind, tmp_path / 'data', **({'sbd': True} if cfg.data['train'].get('sbd') else {}))
    cfg.data_root = str(tmp_path / 'data')
    cfg.work_dir = str(tmp_path / 'run')
    results = run_training(cfg)
    assert results['best'] and all(v['val']['mIoU'] == v['val']['mIoU'] for v in results['best'].values())
