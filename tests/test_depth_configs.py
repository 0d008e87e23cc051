"""Every depth / normals config parses and carries the Probe3D protocol numbers."""
import glob
import pytest
from mmengine.config import Config

CONFIGS = sorted(p for d in ('depth', 'normals') for p in glob.glob(f'configs/{d}/*.py') if 'smoke' not in p)


def test_there_are_protocol_configs():
    assert len(CONFIGS) >= 20


@pytest.mark.parametrize('path', CONFIGS)
def test_protocol_values(path):
    cfg = Config.fromfile(path)
    task = 'depth' if '/depth/' in path else 'normals'
    assert set(cfg.tasks) == {task}
    (grid,) = cfg.probes
    assert grid['lrs'] == [5e-4] and grid['heads'] == ['linear', 'dpt'] and grid['layers'] == ['default']
    assert grid['head_opts']['dpt']['hidden_dim'] == 512
    assert cfg.train_batch_size == 8 and cfg.optimizer['weight_decay'] == 1e-2
    assert cfg.schedule['epochs'] == 10 and cfg.schedule['warmup_epochs'] == 1.5
    assert cfg.schedule['policy'] == 'cosine'
    if task == 'depth':
        assert cfg.tasks.depth['min_depth'] == 1e-3
        assert cfg.tasks.depth['max_depth'] == (1.0 if '/navi_' in path else 10.0)
    else:
        assert cfg.tasks.normals['uncertainty'] is True
    size = cfg.data.train['image_size'][0]
    patch = 14 if 'so400m14' in path else 16
    if 'siglip2paper' in path:
        assert grid['pooled'] == [True] and size == int(path.split('siglip2paper')[1].split('.')[0])
    else:
        assert size % patch == 0 and size > (512 if '/navi_' in path else 480) - patch
    assert cfg.data.val['image_size'] == cfg.data.train['image_size']
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
        if 'probe3d' in path:
            assert Config.fromfile(path).encoder['pos_resize'] == 'bicubic_antialias', path
