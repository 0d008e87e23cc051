"""The README's demo end to end, shrunk: features, figures, joint probes, predictions, summary JSON."""
import json

from probes.demo import DEMO_CONFIG, run_demo


def test_demo_writes_metrics_and_figures(tmp_path):
    text = DEMO_CONFIG.read_text()
    for old, new in (("name='tiny'", "name='test'"), ('(128, 128), num=240', '(64, 64), num=8'),
                     ('(128, 128), num=24', '(64, 64), num=4'), ('(224, 224), num_images=6', '(64, 64), num_images=3'),
                     ('crop_size=(128, 128)', 'crop_size=(64, 64)'), ('max_iters=120, warmup_iters=12', 'max_iters=2, warmup_iters=1'),
                     ('checkpoint_interval=120', 'checkpoint_interval=2')):
        assert old in text, old
        text = text.replace(old, new)
    config = tmp_path / 'demo_smoke.py'
    config.write_text(text)
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
