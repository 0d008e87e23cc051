"""train / eval / predict command modules on the smoke config."""
import argparse
import json

import numpy as np
import pytest
from PIL import Image

from probes import cli_eval, cli_predict, cli_train

SMOKE = 'configs/seg/scenes_linear-dpt_test-smoke.py'


def _run(module, argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))


def test_train_eval_predict(tmp_path, capsys):
    work = tmp_path / 'run'
    assert _run(cli_train, [SMOKE, '--work-dir', str(work), '--cfg-options', 'schedule.max_iters=2',
                            'schedule.warmup_iters=1']) == 0
    out = capsys.readouterr().out
    results = json.loads((work / 'metrics.json').read_text())
    best = results['best']['seg/linear']['probe']
    assert f'best seg/linear: {best}' in out and f'| {best} (best) |' in out
    assert '| probe (test) | mIoU | mAcc | aAcc |' in out

    weights = str(work / 'probes.safetensors')
    assert _run(cli_eval, [SMOKE, '--weights', weights, '--split', 'test', '--out', str(tmp_path / 'e.json')]) == 0
    evaluated = json.loads((tmp_path / 'e.json').read_text())['metrics']['test']
    for key, value in results['metrics']['test'].items():
        assert value is evaluated[key] is None or abs(evaluated[key] - value) < 1e-6, key  # same outside the runner
        # (None: a score with nothing to score, e.g. a class absent from the split; JSON has no NaN)

    assert _run(cli_eval, ['--results', str(work / 'metrics.json')]) == 0
    assert '| probe (val) |' in capsys.readouterr().out

    image = tmp_path / 'img.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 80, 3), dtype=np.uint8)).save(image)
    assert _run(cli_predict, [SMOKE, str(image), '--weights', weights, '--out', str(tmp_path / 'pred')]) == 0
    pred = np.asarray(Image.open(tmp_path / 'pred' / 'img.png'))
    assert pred.shape == (48, 80) and pred.max() < 6
    # a missing image among good ones: refused before anything is written
    with pytest.raises(FileNotFoundError, match='gone.png: not an image file'):
        _run(cli_predict, [SMOKE, str(image), str(tmp_path / 'gone.png'), '--weights', weights,
                           '--out', str(tmp_path / 'pred2')])
    assert not (tmp_path / 'pred2').exists()
    (tmp_path / 'bad.json').write_bytes(b'\x89PNG')
    with pytest.raises(ValueError, match='bad.json: not a metrics.json'):
        _run(cli_eval, ['--results', str(tmp_path / 'bad.json')])


def test_missing_inputs_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py: config file not found'):
        _run(cli_train, [str(tmp_path / 'nope.py')])
    with pytest.raises(FileNotFoundError, match='probes.safetensors: probe weights not found'):
        _run(cli_eval, [SMOKE, '--weights', str(tmp_path / 'probes.safetensors')])
