"""Every depth / normals config parses and carries the Probe3D protocol numbers."""
import glob
import pytest
from mmengine.config import Config

CONFIGS = sorted(p for d in ('depth', 'normals') for p in glob.glob(f'configs/{d}/*.py') if 'smoke' not in p)


def test_there_are_protocol_configs():
    assert len(CONFIGS) >= 20


@pytest.mark.parametrize('path', CONFIGS)
def test_protocol_values(path):
    """Each family's settings (the full card check per protocol is tests/test_protocols.py)."""
    cfg = Config.fromfile(path)
    task = 'depth' if '/depth/' in path else 'normals'
    assert set(cfg.tasks) == {task}
    (grid,) = cfg.probes
    assert grid['lrs'] == [5e-4] and cfg.train_batch_size == 8 and cfg.optimizer['weight_decay'] == 1e-2
    assert cfg.schedule['epochs'] == 10 and cfg.schedule['warmup_epochs'] == 1.5
    assert cfg.schedule['policy'] == 'probe3d'
    if task == 'depth':
        assert cfg.tasks.depth['min_depth'] == 1e-3
        assert cfg.tasks.depth['max_depth'] == (1.0 if '/navi_' in path else 10.0)
    if 'siglip2paper' in path:  # TIPS protocol: TIPS decoder on TIPS layers through the final norm, MAP output
        assert grid['heads'] == ['linear', 'dpt'] and grid['layers'] == ['tips'] and grid['pooled'] == [True]
        assert cfg.features['norm_layers'] is True and not cfg.features['center_pad']
        size = cfg.data.train['image_size']
        assert (size if isinstance(size, int) else size[0]) == int(path.split('siglip2paper')[1].split('.')[0])
        assert cfg.tasks[task].get('bin_eps', 1e-3) == 1e-3 and cfg.tasks[task].get('uncertainty', False) is False
    else:  # Probe3D's heads on raw quarter-depth layers, /14 padded instead of resized
        assert grid['heads'] == ['probe3d_linear', 'probe3d_dpt'] and grid['layers'] == ['default']
        assert grid['head_opts']['probe3d_dpt'] == dict(hidden_dim=512, kernel_size=3)
        assert cfg.features == dict(norm_layers=False, preprocess='encoder', center_pad=True)
        assert 'image_size' not in cfg.data.train and cfg.tasks[task]['align_corners'] is True
    assert cfg.encoder['name'] in path


def test_epoch_schedule_uses_the_training_set_size():
    from probes.train.runner import resolve_schedule
    out = resolve_schedule(dict(epochs=10, warmup_epochs=1.5, policy='cosine'), num_train=795, batch_size=8)
    # 795 images / batch 8 = 100 iterations an epoch (last batch partial)
    assert out == dict(max_iters=1000, warmup_iters=150, checkpoint_interval=100, policy='cosine')
    smoke = resolve_schedule(dict(epochs=10, warmup_epochs=1.5, max_iters=2, warmup_iters=1), 795, 8)
    assert smoke == dict(max_iters=2, warmup_iters=1)
    with pytest.raises(ValueError, match='max_iters'):
        resolve_schedule(dict(policy='cosine'), 10, 2)


@pytest.mark.parametrize('path', sorted(p for d in ('seg', 'depth', 'normals', 'joint') for p in glob.glob(f'configs/{d}/*.py')))
def test_work_dir_is_named_after_the_config(path):
    cfg = Config.fromfile(path)
    task_dir, stem = path.split('/')[1], path.split('/')[-1][:-3]
    assert cfg.work_dir == f'work_dirs/{task_dir}/{stem}'


def test_probe3d_configs_resize_position_embeddings_like_probe3d():
    for path in CONFIGS:
        if 'siglip2paper' not in path:
            assert Config.fromfile(path).encoder['pos_resize'] == 'bicubic_antialias', path
