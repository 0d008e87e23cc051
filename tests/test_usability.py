"""What a new user meets first: random weights made visible, a fast lazy CLI, config checks, readable logs."""
import subprocess
import sys
from pathlib import Path

from mmengine.config import Config

from dense.encoders import build_encoder
from probes.train.results import random_weights_warning

ROOT = Path(__file__).resolve().parents[1]


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


def test_cfg_options_data_root_reaches_every_split(tmp_path, capsys):
    from dense.cli import main
    from dense.datasets.fixtures import write_fixture
    assert not (ROOT / 'work_dirs/fixtures/ade20k').exists()  # the config's own data_root: would not build
    write_fixture('ade20k', tmp_path / 'ade')
    work = tmp_path / 'run'
    assert main(['train', 'configs/seg/ade20k_linear-dpt_test-smoke.py', '--work-dir', str(work),
                 '--cfg-options', f'data_root={tmp_path / "ade"}']) == 0
    assert (work / 'metrics.json').is_file()
    assert str(tmp_path / 'ade') in (work / 'config.py').read_text()
