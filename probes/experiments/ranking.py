"""Does the suite rank encoders? Every probe and evaluation on several encoders x seeds, one table and a bar figure.

``sprobe rank CONFIG`` trains the probe grid of each config of ``cfg.probes`` (one ``dict(config=...)`` or a list of
them: the dense probes, whose one frozen forward per batch feeds every task's probes; detection and referring, whose
data differ) and runs each training-free evaluation of ``cfg.evaluations`` (skipped, and said so, when its type is not
registered in :data:`probes.evaluations.EVALUATIONS`) for every encoder of ``cfg.encoders`` and seed of
``cfg.seeds`` (the seed of the probes and of a random-init encoder). Each run keeps its own ``config.py`` and
``metrics.json``; ``ranking.json``, ``ranking.md`` and ``ranking.png`` collect them: mean and standard deviation
over seeds per encoder and metric, and for every comparison of ``cfg.compare`` whether the first encoder beats the
second on every seed (the worst seed of one better than the best of the other: the gap exceeds the seed spread).
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
from pathlib import Path

from mmengine.config import Config, DictAction

from dense.io import write_bytes, write_json


def probe_configs(cfg: Config) -> list[str]:
    """The probe config files of ``cfg.probes``: one ``dict(config=...)`` or a list of them."""
    entries = cfg.get('probes') or []
    return [e['config'] for e in ([entries] if isinstance(entries, dict) else entries)]


def probe_tasks(path: str) -> set[str]:
    """The task names a probe config trains (its metrics are keyed ``<task>/<head>/...``)."""
    return {p['task'] for p in Config.fromfile(path).probes}


def _probe_config(path: str, encoder: dict, seed: int, work_dir: Path) -> Config:
    probe = Config.fromfile(path)
    probe.encoder = dict(encoder, seed=seed)
    probe.seed = seed
    probe.work_dir = str(work_dir)
    probe.log_level = 'WARNING'
    return probe


def _encoder_spec(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != 'label'}


def _build_encoder(entry: dict, seed: int):
    """The frozen encoder of (encoder entry, seed), as every probe and evaluation of the pair builds it."""
    from probes.train.runner import build_encoder_from_config
    return build_encoder_from_config(Config(dict(encoder=dict(_encoder_spec(entry), seed=seed))))


def flat_metrics(metrics: dict) -> dict:
    """``{name: value}`` of an evaluation's metrics, flat or grouped by split (``{'test': {...}}``)."""
    out = {}
    for k, v in metrics.items():
        if isinstance(v, dict):
            out.update(flat_metrics(v))
        elif isinstance(v, (int, float)):
            out[k] = v
    return out


def _has(metrics: dict, kind: str) -> bool:
    """Whether ``metrics`` (one encoder and seed) hold the results of the evaluation type ``kind``."""
    return any(k.startswith(f'{kind}/') for k in metrics)


def run_one(cfg: Config, entry: dict, seed: int, work_dir: Path, done: dict | None = None,
            encoder=None) -> dict:
    """All metrics of one encoder and seed: ``{'<task>/<head>/<metric>' | '<evaluation>/<metric>': value}``.

    ``done``: metrics of an earlier run of this encoder and seed; the probes and evaluations it has are kept, only
    the probe configs and evaluations added to the config since then run. The first probe config trains under
    ``probes/`` (as before there was a list), each further one under ``probes_<config stem>/``. ``encoder``: the
    pair's encoder when the caller has built it already (default: built here).
    """
    from probes.evaluations import EVALUATIONS, run_evaluation
    from probes.train import run_training
    encoder_spec, out = _encoder_spec(entry), dict(done or {})
    encoder = encoder if encoder is not None else _build_encoder(entry, seed)
    out['weights'] = encoder.weights_sha256
    for i, path in enumerate(probe_configs(cfg)):
        if all(_has(out, task) for task in probe_tasks(path)):
            continue
        where = work_dir / ('probes' if i == 0 else f'probes_{Path(path).stem}')
        probe_cfg = _probe_config(path, encoder_spec, seed, where)
        results = run_training(probe_cfg, encoder=encoder)
        for family, best in results['best'].items():
            out.update({f'{family}/{k}': v for k, v in best['test'].items()})
    for evaluation in cfg.get('evaluations', []):
        kind = Config.fromfile(evaluation['config']).evaluation['type']
        if kind not in EVALUATIONS:
            print(f'rank: evaluation {kind!r} is not registered here: skipped')
            continue
        if _has(out, kind):
            continue
        ev_cfg = Config.fromfile(evaluation['config'])
        ev_cfg.encoder = dict(encoder_spec, seed=seed)
        if 'seed' in ev_cfg.evaluation:  # the evaluation's own seed (kNN's augmentations), where it has one
            ev_cfg.evaluation['seed'] = seed
        ev_cfg.work_dir = str(work_dir / kind)
        out.update({f'{kind}/{k}': v for k, v in flat_metrics(run_evaluation(ev_cfg, encoder=encoder)['metrics'])
                    .items()})
    return out


def summarise(runs: dict, metrics: list, compare: list) -> dict:
    """Mean / std / per-seed values per encoder and metric, and the seed-separated comparisons.

    Args:
        runs: ``{label: [metrics of seed 0, seed 1, ...]}``.
        metrics: ``[dict(key=..., better='max' | 'min')]``: the table's metrics; missing ones are left out.
        compare: ``[(better_label, worse_label)]`` to check.
    """
    table, checks = {}, []
    present = [m for m in metrics if all(m['key'] in r for seeds in runs.values() for r in seeds)]
    for label, seeds in runs.items():
        table[label] = {}
        for m in present:
            values = [r[m['key']] for r in seeds]
            table[label][m['key']] = {'mean': statistics.fmean(values), 'values': values,
                                      'std': statistics.stdev(values) if len(values) > 1 else 0.0}
    for a, b in compare:
        for m in present:
            sign = 1 if m['better'] == 'max' else -1
            va, vb = table[a][m['key']]['values'], table[b][m['key']]['values']
            checks.append({'better': a, 'worse': b, 'metric': m['key'],
                           'gap': sign * (table[a][m['key']]['mean'] - table[b][m['key']]['mean']),
                           'separated': min(sign * v for v in va) > max(sign * v for v in vb)})
    return {'metrics': present, 'table': table, 'checks': checks}


def markdown(summary: dict) -> str:
    """The ranking table (mean ± std over seeds) and the comparisons."""
    keys = [m['key'] for m in summary['metrics']]
    arrows = {m['key']: '↑' if m['better'] == 'max' else '↓' for m in summary['metrics']}
    lines = ['| encoder | ' + ' | '.join(f'{k} {arrows[k]}' for k in keys) + ' |', '|---|' + '---|' * len(keys)]
    for label, row in summary['table'].items():
        lines.append(f'| {label} | ' + ' | '.join(f'{row[k]["mean"]:.3f} ± {row[k]["std"]:.3f}' for k in keys) + ' |')
    lines += ['', '| comparison | metric | gap (better direction) | every seed |', '|---|---|---|---|']
    for c in summary['checks']:
        lines.append(f'| {c["better"]} > {c["worse"]} | {c["metric"]} | {c["gap"]:+.3f} | '
                     f'{"yes" if c["separated"] else "no"} |')
    return '\n'.join(lines) + '\n'


def bar_figure(summary: dict, path: Path) -> list:
    """One panel per metric, one bar per encoder (mean, std error bars, seeds as dots)."""
    from visualize._common import paper_style, save_figure
    with paper_style():
        return save_figure(_bars(summary), path)


def _bars(summary: dict):
    from visualize._common import new_figure
    keys = [m['key'] for m in summary['metrics']]
    labels = list(summary['table'])
    cols = min(max(len(keys), 1), 5)  # at most 5 panels a row: a 9-metric ranking stays readable
    rows = -(-max(len(keys), 1) // cols)
    fig = new_figure(2.6 * cols, 2.8 * rows)
    for j, key in enumerate(keys):
        ax = fig.add_subplot(rows, cols, j + 1)
        for i, label in enumerate(labels):
            cell = summary['table'][label][key]
            ax.bar(i, cell['mean'], yerr=cell['std'], color=f'C{i}', capsize=3)
            ax.plot([i] * len(cell['values']), cell['values'], 'k.', markersize=3)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha='right', fontsize=7)
        ax.set_title(key, fontsize=8)
    return fig


def run_ranking(cfg: Config, only: list | None = None, progress: bool = True) -> dict:
    """Run every (encoder, seed), write ``ranking.json`` / ``.md`` / ``.png`` and the resolved config.

    A finished (encoder, seed) keeps its metrics in ``<label>/seed<N>/rank.json`` with the sha256 of the weights
    they were measured on and is not run again (resumable; processes given disjoint ``only`` labels can share the
    work); an evaluation added to the config later runs alone for the finished ones. When the weights have changed
    since (a re-shipped encoder), or were not recorded, the old run directory is moved aside to
    ``seed<N>.stale-<old sha256[:8]>`` and the pair runs again. ``only``: run just these encoder labels and
    summarise those.
    """
    from tqdm import tqdm
    work_dir = Path(cfg.work_dir)
    entries = [e for e in cfg.encoders if not only or e['label'] in only]
    jobs = [(entry, seed) for entry in entries for seed in cfg.seeds]
    from probes.evaluations import EVALUATIONS
    kinds = {Config.fromfile(e['config']).evaluation['type'] for e in cfg.get('evaluations', [])} & set(EVALUATIONS)
    kinds |= {task for path in probe_configs(cfg) for task in probe_tasks(path)}
    runs: dict = {}
    for entry, seed in tqdm(jobs, desc='rank', disable=not progress):
        run_dir = work_dir / entry['label'] / f'seed{seed}'
        done = json.loads((run_dir / 'rank.json').read_text()) if (run_dir / 'rank.json').is_file() else None
        encoder = _build_encoder(entry, seed)   # built once per pair: its weights are checked, then it runs
        if done is not None:
            weights = encoder.weights_sha256
            if done.get('weights') != weights:
                stale = run_dir.with_name(f"{run_dir.name}.stale-{str(done.get('weights', 'unrecorded'))[:8]}")
                print(f"rank: {entry['label']} seed {seed}: results in {run_dir} were measured on weights "
                      f"{done.get('weights', '(not recorded)')}, now {weights}: moved to {stale.name}, run again")
                shutil.rmtree(stale, ignore_errors=True)
                run_dir.rename(stale)
                done = None
        if done is None or not all(_has(done, kind) for kind in kinds):
            write_json(run_dir / 'rank.json', run_one(cfg, entry, seed, run_dir, done, encoder), sort_keys=True)
        runs.setdefault(entry['label'], []).append(json.loads((run_dir / 'rank.json').read_text()))
    compare = [tuple(c) for c in cfg.compare if set(c) <= set(runs)]
    summary = summarise(runs, list(cfg.metrics), compare)
    write_bytes(work_dir / 'config.py', cfg.pretty_text.encode())
    write_json(work_dir / 'ranking.json', {'seeds': list(cfg.seeds), 'runs': runs, **summary}, sort_keys=True)
    write_bytes(work_dir / 'ranking.md', markdown(summary).encode())
    bar_figure(summary, work_dir / 'ranking.png')
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('config', help='ranking config (configs/rank/...)')
    parser.add_argument('--work-dir', help='override the config work_dir')
    parser.add_argument('--only', nargs='+', metavar='LABEL', help='run only these encoder labels')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. seeds=[0]')


def run(args: argparse.Namespace) -> int:
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    summary = run_ranking(cfg, only=args.only)
    print(markdown(summary))
    return 0
