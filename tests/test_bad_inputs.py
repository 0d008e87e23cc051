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
    ('device-name', lambda t: (['extract', _images(t), str(t / 'f.safetensors'), '--device', 'gpu0'],
                               [t / 'f.safetensors']), r'--device gpu0: not a device name'),
]


def _abs(path: str) -> str:
    from pathlib import Path
    return str(Path(path).resolve())


@pytest.mark.parametrize('build,expected', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_a_one_line_error(build, expected, tmp_path, capsys):
    argv, must_not_exist = build(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2
    assert len(err) == 1 and re.search(expected, err[0]), err
    for path in must_not_exist:
        assert not path.exists(), f'{path} was written despite the error'
