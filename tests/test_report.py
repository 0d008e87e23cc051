"""`sprobe report`: markdown tables, curves and the comparison chart from real probe runs."""
import json
import time

import pytest

from dense.cli import main
from dense.encoders import build_encoder
from probes.cli_report import report
from probes.train import as_config, run_training


@pytest.fixture(scope='module')
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('runs')
    runs = []
    for seed in (0, 1):
        cfg = as_config('configs/seg/scenes_linear-dpt_test-smoke.py')
        cfg.work_dir, cfg.seed = str(root / f'seed{seed}'), seed
        run_training(cfg, encoder=build_encoder('test', seed=seed))
        runs.append(root / f'seed{seed}')
    return runs


def test_report_tables_and_comparison_of_best_probes(two_runs):
    written = report(two_runs, label='run')
    names = sorted(p.name for p in written)
    assert names == ['comparison.png', 'results.md', 'results.md', 'training_curves.png']
    result = json.loads((two_runs[0] / 'metrics.json').read_text())
    table = (two_runs[0] / 'results.md').read_text()
    best = result['best']['seg/linear']
    assert f"| {best['probe']} (best) | {best['val']['mIoU']:.2f} |" in table
    # the bars are the best probe of each family, read from the runs' metrics.json
    from visualize.curves import load_results
    values = [r['values'] for r in load_results(two_runs)]
    assert values[0]['seg/linear/mIoU'] == best['val']['mIoU']
    assert values[1]['seg/dpt/mIoU'] == json.loads((two_runs[1] / 'metrics.json').read_text())[
        'best']['seg/dpt']['val']['mIoU']


def test_report_command_errors_in_one_line(two_runs, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(['report', str(two_runs[0]), '--metrics', 'seg/linear/PQ'])
    assert "metric 'seg/linear/PQ' missing" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(['report', str(tmp_path / 'nowhere')])
    assert 'nowhere: cannot read results JSON' in capsys.readouterr().err


def test_report_after_resume_reads_every_log_of_the_run(tmp_path):
    cfg = as_config('configs/seg/scenes_linear-dpt_test-smoke.py')
    cfg.work_dir = str(tmp_path / 'run')
    run_training(cfg, encoder=build_encoder('test'))
    time.sleep(1.1)  # mmengine names log folders by the second
    run_training(cfg, encoder=build_encoder('test'), resume=True)  # a second log folder, nothing left to train
    from visualize.curves import load_scalars
    assert len(list((tmp_path / 'run').glob('*/vis_data/scalars.json'))) == 2
    steps = [r['step'] for r in load_scalars(tmp_path / 'run') if 'loss' in r]
    assert steps and steps == sorted(steps)
    assert 'training_curves.png' in [p.name for p in report([tmp_path / 'run'])]
