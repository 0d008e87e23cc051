"""Detection configs: names follow the pattern, every protocol config has a smoke variant, and the smoke configs train
end to end through the one runner (COCO and LVIS on fixtures written here in their real layouts, scenes on the fly),
then ``sprobe predict`` writes boxes in original pixels and an overlay."""
import json
from pathlib import Path

import pytest
from PIL import Image

from dense.datasets.detection_fixtures import write_fixture
from probes.train.config import check_config, load_config

CONFIGS = sorted(Path('configs/det').glob('*.py'))


def test_names_and_smoke_variants():
    names = {c.stem for c in CONFIGS}
    for name in names:
        dataset, heads, encoder = name.split('_')[:3]
        assert dataset in ('coco', 'lvis', 'scenes') and heads == 'owl' and '-' in encoder, name
    for dataset in ('coco', 'lvis', 'scenes'):
        assert any(n.startswith(dataset) and n.endswith('_smoke') for n in names), dataset
    for config in CONFIGS:
        cfg = load_config(config)
        check_config(cfg)
        assert cfg.work_dir.endswith(config.stem)


@pytest.mark.parametrize('config,kind', [('configs/det/coco_owl_test-64_ovr_smoke.py', 'coco'),
                                         ('configs/det/lvis_owl_test-64_norare_smoke.py', 'lvis'),
                                         ('configs/det/scenes_owl_test-64_smoke.py', None)])
def test_smoke_config_trains_evaluates_and_predicts(config, kind, tmp_path):
    pytest.importorskip('dense.text')
    from probes.train import run_training
    from probes.train.evaluate import run_predict
    cfg = load_config(config)
    cfg.work_dir = str(tmp_path / 'run')
    cfg.log_level = 'WARNING'
    if kind:
        root = write_fixture(tmp_path / 'data', kind, num=4)
        ann = 'instances_val2017.json' if kind == 'coco' else 'lvis_v1_val.json'
        cfg.data_root = str(root)
        cfg.tasks.det.classes = str(root / 'annotations' / ann)
    results = run_training(cfg)
    metrics = results['metrics']['val']
    assert results['best']['det/owl']['probe'] and all(v == v for v in metrics.values())
    assert any(k.endswith('/APr' if kind == 'lvis' else '/AP_novel') for k in metrics)
    image = tmp_path / 'photo.png'
    Image.new('RGB', (50, 30), (90, 120, 200)).save(image)
    written = run_predict(cfg, tmp_path / 'run' / 'probes.safetensors', [str(image)], tmp_path / 'pred',
                          overlay=True)
    detections = json.loads((tmp_path / 'pred' / 'photo.json').read_text())['detections']
    assert detections and all(0 <= d['box'][0] <= d['box'][2] <= 50 and 0 <= d['box'][1] <= d['box'][3] <= 30
                              for d in detections)
    assert any(str(p).endswith('photo_boxes.png') for p in written)
