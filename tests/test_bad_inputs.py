"""Bad input through the real entry point (``dense.cli.main``): a one-line error naming the problem, exit status 2,
and no output left behind (or a complete one). Each case writes its own hostile file in ``tmp_path``."""
import pickle
import re

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from dense.cli import main

SMOKE = 'configs/seg/scenes_linear-dpt_test-smoke.py'


def _config(tmp_path, text: str) -> str:
    path = tmp_path / 'cfg.py'
    path.write_text(text)
    return str(path)


def _images(tmp_path, n: int = 2, size=(40, 56)) -> str:
    folder = tmp_path / 'imgs'
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(folder / f'im{i}.png')
    return str(folder)


class _Evil:
    def __reduce__(self):
        return (print, ('pwned',))


def _hostile_pickle(path):
    path.write_bytes(pickle.dumps({'x': _Evil()}))
    return str(path)


# (id, build(tmp_path) -> (argv, outputs that must not exist), expected message regex)
CASES = [
    ('config-syntax', lambda t: (['train', _config(t, 'a = dict(\n')], [t / 'run']),
     r'cfg\.py: not a valid python config \(line 1'),
    ('config-missing', lambda t: (['train', str(t / 'nope.py')], []), r'nope\.py: config file not found'),
    ('config-typo-key', lambda t: (['train', _config(t, f"_base_ = ['{_abs(SMOKE)}']\ntrain_bach_size = 4\n"),
                                    '--work-dir', str(t / 'run')], [t / 'run']),
     r"unknown top-level key 'train_bach_size' \(did you mean 'train_batch_size'\?\)"),
    ('cfg-options-typo', lambda t: (['train', SMOKE, '--work-dir', str(t / 'run'), '--cfg-options',
                                     'schedul.max_iters=2'], [t / 'run']),
     r"--cfg-options schedul\.max_iters: the config has no key 'schedul' \(did you mean 'schedule'\?\)"),
    ('negative-max-iters', lambda t: (['train', SMOKE, '--work-dir', str(t / 'run'), '--cfg-options',
                                       'schedule.max_iters=-5'], [t / 'run']),
     r'schedule\.max_iters must be a positive number, got -5'),
    ('device-without-cuda', lambda t: (['predict', SMOKE, _images(t) + '/im0.png', '--out', str(t / 'out'),
                                        '--device', 'cuda' if not torch.cuda.is_available() else 'cuda:99'],
                                       [t / 'out']),
     r'--device cuda(:99)?: (CUDA is not available on this machine|only \d+ CUDA device)'),
    ('train-device', lambda t: (['train', SMOKE, '--work-dir', str(t / 'run'), '--device',
                                 'cuda' if not torch.cuda.is_available() else 'cuda:x'], [t / 'run']),
     r'--device cuda(:x)?: (CUDA is not available on this machine|use cpu, cuda or cuda:N)'),
    ('device-name', lambda t: (['extract', _images(t), str(t / 'f.safetensors'), '--device', 'gpu0'],
                               [t / 'f.safetensors']), r'--device gpu0: not a device name'),
    ('nan-weights', lambda t: (['extract', _images(t), str(t / 'f.safetensors'), '--encoder', 'test',
                                '--weights', _nan_weights(t)], [t / 'f.safetensors']),
     r'nan\.safetensors: 1 tensor\(s\) hold NaN or inf \(first: pos_embed\)'),
    ('hostile-torch-pickle', lambda t: (['extract', _images(t), str(t / 'f.safetensors'), '--encoder', 'test',
                                         '--weights', _evil_torch(t)], [t / 'f.safetensors']),
     r'evil\.pth: not a safe weights file: .*convert it once.*safetensors'),
    ('unreadable-image', lambda t: (['extract', _broken_image(t), str(t / 'f.safetensors'), '--encoder', 'test'],
                                    [t / 'f.safetensors']), r'zz_broken\.png: cannot read image'),
    ('images-only-in-subfolders', lambda t: (['extract', _nested(t), str(t / 'f.safetensors'), '--encoder', 'test'],
                                             [t / 'f.safetensors']), r'its subfolders have some: pass --recursive'),
    ('pixel-limit', lambda t: (['extract', _images(t), str(t / 'f.safetensors'), '--encoder', 'test'],
                               [t / 'f.safetensors']), r'im0\.png: 56 x 40 = 0 M pixels, more than the limit'),
    ('nyu-hostile-pickle', lambda t: (_nyu_argv(t, _hostile_pickle(t / 'evil.pkl')), [t / 'run' / 'metrics.json']),
     r'evil\.pkl: refusing to load global builtins\.print'),
    ('nyu-truncated-pickle', lambda t: (_nyu_argv(t, _truncated(_nyu_pickle(t))), [t / 'run' / 'metrics.json']),
     r'nyu\.pkl: not a readable pickle .*truncated'),
    ('normals-not-unit', lambda t: (_nyu_argv(t, _nyu_pickle(t, scale=255.0)), [t / 'run' / 'metrics.json']),
     r'nyu\.pkl#0: 100% of the normals are not unit vectors \(median length 255\)'),
    ('resume-hostile-checkpoint', lambda t: (_resume_from(t, _torch_bytes({'state_dict': _Evil()})),
                                             [t / 'run' / 'metrics.json']),
     r'iter_2\.pth: cannot resume: the checkpoint holds python objects besides tensors'),
    ('resume-truncated-checkpoint', lambda t: (_resume_from(t, _torch_bytes({'state_dict': {}})[:40]),
                                               [t / 'run' / 'metrics.json']),
     r'iter_2\.pth: cannot resume: unreadable checkpoint'),
    ('labels-without-valid-pixel', lambda t: (_all_ignored_ade(t), [t / 'run' / 'metrics.json']),
     r'validation/.*every seg probe scores mIoU = NaN: no label pixel is valid'),
    ('custom-mask-missing', lambda t: (['train', 'configs/seg/custom_linear-dpt_test-smoke.py', '--work-dir',
                                        str(t / 'run'), '--cfg-options', f'data_root={_custom_without_mask(t)}'],
                                       [t / 'run' / 'metrics.json']),
     r'masks/photo_001\.png: mask of .*photo_001\.jpg not found'),
]


def _custom_without_mask(tmp_path) -> str:
    from dense.datasets.fixtures import write_fixture
    write_fixture('custom', tmp_path / 'data')
    (tmp_path / 'data' / 'train' / 'masks' / 'photo_001.png').unlink()
    return str(tmp_path / 'data')


def _truncated(path: str) -> str:
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 2])
    return path


def _torch_bytes(obj) -> bytes:
    import io
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _nan_weights(tmp_path) -> str:
    from dense.encoders import build_encoder
    state = {k: v.clone().contiguous() for k, v in build_encoder('test').vit.state_dict().items()}
    state['pos_embed'][0, 0, 0] = float('nan')
    save_file(state, str(tmp_path / 'nan.safetensors'))
    return str(tmp_path / 'nan.safetensors')


def _evil_torch(tmp_path) -> str:
    torch.save({'w': _Evil()}, tmp_path / 'evil.pth')
    return str(tmp_path / 'evil.pth')


def _broken_image(tmp_path) -> str:
    folder = _images(tmp_path)
    (tmp_path / 'imgs' / 'zz_broken.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'\0' * 20)
    return folder


def _nested(tmp_path) -> str:
    _images(tmp_path)
    (tmp_path / 'top').mkdir()
    (tmp_path / 'imgs').rename(tmp_path / 'top' / 'sub')
    return str(tmp_path / 'top')


def _nyu_pickle(tmp_path, scale: float = 1.0) -> str:
    rng = np.random.default_rng(0)
    normals = rng.normal(size=(2, 3, 48, 64)).astype(np.float32)
    normals *= scale / np.linalg.norm(normals, axis=1, keepdims=True)
    data = {'depths': rng.uniform(0.5, 9, (2, 48, 64)).astype(np.float32),
            'images': rng.integers(0, 255, (2, 3, 48, 64), dtype=np.uint8), 'snorms': normals,
            'scene_types': [['office'], ['kitchen']], 'test_indices': np.array([0, 1])}
    (tmp_path / 'nyu.pkl').write_bytes(pickle.dumps(data))
    return str(tmp_path / 'nyu.pkl')


NYU = 'configs/normals/nyu_linear-dpt_test64_smoke.py'


def _nyu_argv(tmp_path, pickle_path: str) -> list[str]:
    return ['train', NYU, '--work-dir', str(tmp_path / 'run'), '--cfg-options', f'data.train.path={pickle_path}',
            'data.train.split=test', f'data.val.path={pickle_path}']


def _resume_from(tmp_path, payload: bytes) -> list[str]:
    work = tmp_path / 'run'
    work.mkdir()
    (work / 'iter_2.pth').write_bytes(payload)
    (work / 'last_checkpoint').write_text(str(work / 'iter_2.pth'))
    return ['train', SMOKE, '--work-dir', str(work), '--resume']


def _all_ignored_ade(tmp_path) -> list[str]:
    from dense.datasets.fixtures import write_fixture
    write_fixture('ade20k', tmp_path / 'ade')
    for label in (tmp_path / 'ade' / 'annotations' / 'validation').glob('*.png'):
        Image.fromarray(np.zeros_like(np.asarray(Image.open(label)))).save(label)  # 0 = "other": ignored
    return ['train', 'configs/seg/ade20k_linear-dpt_test-smoke.py', '--work-dir', str(tmp_path / 'run'),
            '--cfg-options', f'data_root={tmp_path / "ade"}']


def _abs(path: str) -> str:
    from pathlib import Path
    return str(Path(path).resolve())


@pytest.mark.parametrize('build,expected', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_a_one_line_error(build, expected, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv('SPROBE_MAX_IMAGE_PIXELS', '1000' if 'pixels' in expected else '64000000')
    argv, must_not_exist = build(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()  # notes (random weights...) may come before the error
    assert exit_info.value.code == 2 and not any('Traceback' in line for line in err)
    assert err[-1].startswith(f'sprobe {argv[0]}: error: ') and re.search(expected, err[-1]), err
    for path in must_not_exist:
        assert not path.exists(), f'{path} was written despite the error'
