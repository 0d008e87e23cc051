"""The ranking check: summary statistics against hand-worked values, and the command end to end at smoke size on
random init and the shipped scene-trained encoder (every run's metrics recorded with its encoder weights): the
trained encoder must beat random init on segmentation and depth on every seed (measured at smoke size: seg mIoU
17.5 vs 13.6, depth RMSE 4.76 vs 4.86 m; docs/encoders.md)."""
import json
from pathlib import Path

import pytest
from mmengine.config import Config

from probes.experiments.ranking import markdown, run_ranking, summarise


def test_summary_mean_spread_and_seed_separation():
    runs = {'a': [{'m': 0.5, 'e': 1.0}, {'m': 0.7, 'e': 0.8}], 'b': [{'m': 0.6, 'e': 2.0}, {'m': 0.4, 'e': 1.9}]}
    metrics = [dict(key='m', better='max'), dict(key='e', better='min'), dict(key='absent', better='max')]
    s = summarise(runs, metrics, [('a', 'b')])
    assert [m['key'] for m in s['metrics']] == ['m', 'e']
    assert s['table']['a']['m']['mean'] == pytest.approx(0.6) and s['table']['a']['m']['std'] == pytest.approx(0.1414,
                                                                                                               abs=1e-4)
    checks = {c['metric']: c for c in s['checks']}
    assert not checks['m']['separated'] and checks['m']['gap'] == pytest.approx(0.1)   # 0.5 < 0.6: seeds overlap
    assert checks['e']['separated'] and checks['e']['gap'] == pytest.approx(1.05)      # lower error on every seed
    table = markdown(s)
    assert '| a | 0.600 ± 0.141 | 0.900 ± 0.141 |' in table and '| a > b | e | +1.050 | yes |' in table


def test_smoke_ranking_end_to_end(tmp_path):
    cfg = Config.fromfile('configs/rank/scenes_rank_scenes-64_smoke.py')
    cfg.work_dir = str(tmp_path)
    summary = run_ranking(cfg, progress=False)
    checks = {c['metric']: c for c in summary['checks']}
    assert set(checks) == {'seg/linear/mIoU', 'depth/linear/rmse'}
    for label in ('random-init', 'scenes-sigmoid'):
        for key in checks:
            cell = summary['table'][label][key]
            assert len(cell['values']) == 2 and cell['mean'] == pytest.approx(sum(cell['values']) / 2)
    saved = json.loads((tmp_path / 'ranking.json').read_text())
    assert saved['runs']['random-init'][0]['seg/linear/mIoU'] == summary['table']['random-init'][
        'seg/linear/mIoU']['values'][0]
    assert (tmp_path / 'ranking.png').stat().st_size > 0 and (tmp_path / 'ranking.md').read_text().startswith('|')
    for key in ('seg/linear/mIoU', 'depth/linear/rmse'):   # trained > random init by more than the seed spread
        assert checks[key]['better'] == 'scenes-sigmoid' and checks[key]['gap'] > 0 and checks[key]['separated'], key
    # an evaluation added later runs alone for the finished (encoder, seed) pairs; their probe metrics are kept
    extra = tmp_path / 'correspond_smoke.py'
    extra.write_text("_base_ = ['%s']\nevaluation = dict(data=dict(num=2))\n"
                     % (Path.cwd() / 'configs/rank/scenes_correspond_scenes-64_probe3d.py'))
    cfg.evaluations = [dict(config=str(extra))]
    cfg.metrics = list(cfg.metrics) + [dict(key='correspond/scenes/recall@10px', better='max')]
    again = run_ranking(cfg, progress=False)
    assert again['table']['random-init']['seg/linear/mIoU'] == summary['table']['random-init']['seg/linear/mIoU']
    assert len(again['table']['scenes-sigmoid']['correspond/scenes/recall@10px']['values']) == 2
    metrics = json.loads((tmp_path / 'scenes-sigmoid' / 'seed0' / 'probes' / 'metrics.json').read_text())
    assert metrics['encoder'] == 'scenes-sigmoid' and not metrics['encoder_weights'].startswith('random-init')
    # so does a probe config added later (a list of them: the referring probe trains on data of its own)
    ref = tmp_path / 'ref_smoke.py'
    ref.write_text("_base_ = ['%s']\nprobes = [dict(task='ref', heads=['ref_centre'], layers=[[-1]], lrs=[1e-2])]\n"
                   % (Path.cwd() / 'configs/ref/scenes_decoder-baselines_test-64_smoke.py'))
    cfg.probes = list(cfg.probes) + [dict(config=str(ref))]
    cfg.metrics = list(cfg.metrics) + [dict(key='ref/ref_centre/Acc@0.5', better='max')]
    third = run_ranking(cfg, progress=False)
    assert third['table']['random-init']['seg/linear/mIoU'] == summary['table']['random-init']['seg/linear/mIoU']
    assert len(third['table']['scenes-sigmoid']['ref/ref_centre/Acc@0.5']['values']) == 2
    ref_dir = tmp_path / 'scenes-sigmoid' / 'seed1' / 'probes_ref_smoke'
    assert json.loads((ref_dir / 'metrics.json').read_text())['encoder'] == 'scenes-sigmoid'
    assert Config.fromfile(str(ref_dir / 'config.py')).seed == 1
    # every pair records its weights; results measured on other weights (a re-shipped encoder) are moved aside and
    # the pair runs again
    assert json.loads((tmp_path / 'random-init' / 'seed1' / 'rank.json').read_text())['weights'] == \
        'random-init-seed1'
    record = tmp_path / 'scenes-sigmoid' / 'seed0' / 'rank.json'
    shipped = json.loads(record.read_text())['weights']
    assert len(shipped) == 64 and shipped == metrics['encoder_weights']
    record.write_text(json.dumps(dict(json.loads(record.read_text()), weights='deadbeef' + '0' * 56)))
    cfg.seeds = [0]
    fourth = run_ranking(cfg, only=['scenes-sigmoid'], progress=False)
    assert (tmp_path / 'scenes-sigmoid' / 'seed0.stale-deadbeef' / 'rank.json').is_file()
    assert json.loads(record.read_text())['weights'] == shipped
    assert fourth['table']['scenes-sigmoid']['seg/linear/mIoU']['values'] == \
        third['table']['scenes-sigmoid']['seg/linear/mIoU']['values'][:1]   # same weights and seed, same result
