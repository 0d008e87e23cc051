"""What a new user meets first: random weights made visible, a fast lazy CLI, config checks, readable logs."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from dense.encoders import build_encoder
from probes.train.results import random_weights_warning

ROOT = Path(__file__).resolve().parents[1]
SMOKE = 'configs/seg/scenes_linear-dpt_test-smoke.py'


def test_random_weights_on_real_data_are_a_loud_warning():
    enc = build_encoder('test')
    real = Config(dict(encoder=dict(name='test'), data=dict(train=dict(type='nyu_mmseg', root='x'))))
    message = random_weights_warning(real, enc)
    assert 'RANDOM WEIGHTS' in message and 'random-init-seed0' in message and 'nyu_mmseg' in message
    synthetic = Config(dict(encoder=dict(name='test'), data=dict(train=dict(type='scenes'))))
    assert random_weights_warning(synthetic, enc) is None
    enc.weights_sha256 = 'ab' * 32  # a checkpoint
    assert random_weights_warning(real, enc) is None


def test_real_data_configs_name_real_weights():
    for folder in ('depth', 'normals', 'seg'):
        for path in sorted((ROOT / 'configs' / folder).glob('*_siglip2-*.py')):
            text = path.read_text()
            assert "weights='google/siglip2-" in text, f'{path.name}: real-data config without real weights'


def _imports_after(argv: list[str]) -> set[str]:
    code = ('import sys\nfrom dense.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n'
            'print("LOADED:" + ",".join(m for m in ("torch", "mmengine.runner", "matplotlib") if m in sys.modules))' % argv)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(filter(None, out.stdout.rsplit('LOADED:', 1)[1].strip().split(',')))


def test_help_imports_no_torch():
    assert _imports_after(['--help']) == set()
    assert _imports_after(['predict', '--help']) == set()  # a command's help pays only for argparse
    assert _imports_after(['viz', '--help']) == set()


def test_data_root_option_class_names_and_predict_like_eval(tmp_path):
    """--cfg-options data_root= reaches every split; metrics keyed by class name; predict resizes and infers as
    eval does and writes the data set's palette."""
    import numpy as np
    import torch
    from PIL import Image

    from dense.cli import main
    from dense.datasets import build_dataset
    from dense.datasets.fixtures import write_fixture
    from dense.datasets.metainfo import class_metainfo
    from probes.train.config import data_options
    from probes.train.evaluate import load_trained
    from probes.train.runner import as_config
    assert not (ROOT / 'work_dirs/fixtures/ade20k').exists()  # the config's own data_root: would not build
    write_fixture('ade20k', tmp_path / 'ade')
    work, config = tmp_path / 'run', 'configs/seg/ade20k_linear-dpt_test-smoke.py'
    options = ['--cfg-options', f'data_root={tmp_path / "ade"}']
    assert main(['train', config, '--work-dir', str(work), *options]) == 0
    metrics = json.loads((work / 'metrics.json').read_text())
    assert any(k.endswith('/IoU.wall') for k in metrics['metrics']['val'])  # ADE's class 0, by name
    assert metrics['encoder_weights'] == 'random-init-seed0'  # and loud in the run's log:
    assert 'RANDOM WEIGHTS' in next(work.glob('*/*.log')).read_text()
    assert 'NaN' not in (work / 'metrics.json').read_text()  # absent classes are null, not bare NaN

    cfg = as_config(config)
    cfg.data_root = str(tmp_path / 'ade')
    sample = build_dataset(data_options(cfg, 'val'))[0]  # the eval pipeline: image resized, label full size
    probe = metrics['best']['seg/linear']['probe']
    model = load_trained(cfg, work / 'probes.safetensors', device='cpu')
    with torch.no_grad():
        expected = model.tasks['seg'].predict(model.infer(sample['image'][None])[probe], sample['seg'].shape)[0]
    image = sample['meta']['img_path']
    assert main(['predict', config, image, '--weights', str(work / 'probes.safetensors'), '--probe', probe,
                 '--out', str(tmp_path / 'pred'), '--overlay', '--device', 'cpu', *options]) == 0
    written = Image.open(tmp_path / 'pred' / f'{Path(image).stem}.png')
    assert written.mode == 'P' and np.array_equal(np.asarray(written), expected.numpy())
    palette = class_metainfo(dict(type='seg_folder', kind='ade20k'))['palette']
    assert written.getpalette()[:6] == [*palette[0], *palette[1]]
    assert (tmp_path / 'pred' / f'{Path(image).stem}_overlay.png').is_file()


def test_predict_depth_and_normals_write_pictures(tmp_path):
    import numpy as np
    from PIL import Image

    from dense.cli import main
    config = 'configs/joint/scenes_seg_depth_normals_test64_smoke.py'
    work = tmp_path / 'run'
    assert main(['train', config, '--work-dir', str(work), '--cfg-options', 'schedule.max_iters=2']) == 0
    image = tmp_path / 'photo.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 72, 3), dtype=np.uint8)).save(image)
    for probe, kind in (('depth/dpt_l0-1-2-3_lr5e-4', 'depth'), ('normals/dpt_l0-1-2-3_lr5e-4', 'normals')):
        assert main(['predict', config, str(image), '--weights', str(work / 'probes.safetensors'),
                     '--probe', probe, '--out', str(tmp_path / kind)]) == 0
        values = np.load(tmp_path / kind / 'photo.npy')
        assert values.shape[-2:] == (40, 72) and np.isfinite(values).all()
        assert np.asarray(Image.open(tmp_path / kind / f'photo_{kind}.png')).shape == (40, 72, 3)


def test_training_console_tensorboard_periodic_val_and_lock(tmp_path, capsys):
    from dense.cli import main
    from dense.io import work_dir_lock
    work, config = tmp_path / 'run', tmp_path / 'hooked.py'
    config.write_text(f"_base_ = ['{ROOT / SMOKE}']\ncustom_hooks = [dict(type='EmptyCacheHook')]\n")
    options = ['--cfg-options', 'schedule.max_iters=2', 'schedule.warmup_iters=0', 'schedule.val_interval=1',
               'schedule.log_interval=1']
    with work_dir_lock(work):  # a run already writing there
        with pytest.raises(SystemExit):
            main(['train', str(config), '--work-dir', str(work), *options])
        assert 'another run is using this work dir (pid' in capsys.readouterr().err
    assert main(['train', str(config), '--work-dir', str(work), *options]) == 0
    console = capsys.readouterr()
    assert 'System environment' not in console.out and 'Hooks will be executed' not in console.out
    assert 'train:' not in console.err  # no progress bar when not on a terminal
    (log,) = work.glob('*/*.log')
    assert 'System environment' in log.read_text() and 'EmptyCacheHook' in log.read_text()  # config's hook
    assert list(work.glob('*/vis_data/events.out.tfevents.*'))  # TensorBoard
    scalars = [json.loads(line) for line in next(work.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    val_steps = [s['step'] for s in scalars if any(k.endswith('/mIoU') for k in s)]
    assert val_steps == [1, 2]  # validated after every iteration, the final one not repeated
    assert 'encoder = dict' in (work / 'hooked.py').read_text()  # mmengine's own config dump


def test_custom_segmentation_data_and_a_data_set_in_one_file(tmp_path, monkeypatch):
    from dense.datasets import build_dataset
    from dense.datasets.fixtures import write_fixture
    from probes.train.config import data_options, dataset_metainfo, task_options
    from probes.train.runner import as_config
    write_fixture('custom', tmp_path / 'data')
    cfg = as_config(ROOT / 'configs/seg/custom_linear-dpt_siglip2-b16-512.py')
    cfg.data_root = str(tmp_path / 'data')
    dataset = build_dataset(data_options(cfg, 'val'))
    sample = dataset[0]
    assert len(dataset) == 2 and sample['image'].shape[-2:] != sample['seg'].shape  # eval resize: image only
    assert set(sample['seg'].unique().tolist()) <= {0, 1, 2, 255}
    assert task_options(cfg, 'seg')['class_names'] == ['background', 'road', 'car']  # IoU.road, not IoU.1
    assert dataset_metainfo(cfg)['palette'][1] == [128, 64, 128]
    # a data set class in the user's own file, named 'module:Class' in the config
    (tmp_path / 'my_data.py').write_text('from dense.datasets.custom import CustomSegDataset\n\n\n'
                                         'class Mine(CustomSegDataset):\n    pass\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    mine = build_dataset(dict(data_options(cfg, 'val'), type='my_data:Mine'))
    assert type(mine).__name__ == 'Mine' and len(mine) == 2
    with pytest.raises(KeyError, match="'nowhere:Mine': cannot import it"):
        build_dataset(dict(data_options(cfg, 'val'), type='nowhere:Mine'))


def test_nan_is_never_written_or_chosen(tmp_path):
    import math

    from dense.io import write_json
    from probes.tasks import build_task
    from probes.train.metric import select_best
    from probes.train.spec import ProbeSpec
    write_json(tmp_path / 'm.json', {'a': math.nan, 'b': [1.0, math.inf], 'c': 2.5})
    assert json.loads((tmp_path / 'm.json').read_text()) == {'a': None, 'b': [1.0, None], 'c': 2.5}
    specs = [ProbeSpec('seg', 'linear', (3,), lr) for lr in (1e-2, 1e-3)]
    tasks = {'seg': build_task('seg', num_classes=2)}
    scores = {f'{specs[0].name}/mIoU': math.nan, f'{specs[1].name}/mIoU': 10.0}
    assert select_best(scores, specs, tasks) == {'seg/linear': specs[1].name}
    assert select_best({k: math.nan for k in scores}, specs, tasks) == {}  # no best among NaNs


def test_every_shipped_config_passes_the_checks():
    from probes.train.config import check_config, load_config
    for path in sorted((ROOT / 'configs').rglob('*.py')):
        if '_base_' not in path.parts:
            check_config(load_config(path))  # no shipped key looks like a typo of a known one
