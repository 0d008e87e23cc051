"""The README's demo end to end, shrunk: features, figures, joint probes, predictions, summary JSON."""
import json

from probes.demo import DEMO_CONFIG, run_demo


def test_demo_writes_metrics_and_figures(tmp_path):
    assert "name='scenes-sigmoid'" in DEMO_CONFIG.read_text()   # the README's demo runs the shipped trained encoder
    config = tmp_path / 'demo_smoke.py'
    config.write_text(f"""_base_ = [{str(DEMO_CONFIG)!r}]
encoder = dict(name='test', weights=None)
data = dict(train=dict(size=(64, 64), num=8, augment=dict(crop_size=(64, 64))), val=dict(size=(64, 64), num=4))
feature_figures = dict(size=(64, 64), num_images=3)
schedule = dict(max_iters=2, warmup_iters=1, checkpoint_interval=2)
""")
    summary = run_demo(tmp_path / 'run', config)
    written = json.loads((tmp_path / 'run' / 'demo.json').read_text())
    assert written['best'] == json.loads(json.dumps(summary['best']))
    assert set(summary['best']) == {'seg/linear', 'depth/dpt', 'normals/dpt'}
    assert 0 <= summary['best']['seg/linear']['val']['mIoU'] <= 100
    assert summary['best']['depth/dpt']['val']['rmse'] > 0
    for name in ('similarity.png', 'viewer.html', 'boxes.png', 'referring.png', 'seg_0.png', 'depth_0.png',
                 'normals_0.png'):
        assert f'figures/{name}' in summary['figures'] and (tmp_path / 'run' / 'figures' / name).stat().st_size > 0
    assert 'probes/figures/training_curves.png' in summary['figures']  # logged scalars survive log_level
    assert (tmp_path / 'run' / 'features.safetensors').is_file()
    assert (tmp_path / 'run' / 'probes' / 'metrics.json').is_file()
    assert (tmp_path / 'run' / 'probes' / 'config.py').is_file()
