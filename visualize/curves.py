"""Training curves from run logs and bar charts comparing runs (encoders, layers, resolutions).

Log formats: mmengine's ``<work_dir>/<timestamp>/vis_data/scalars.json`` (one JSON object per line with
'step' or 'iter', 'lr', 'loss' and metric keys) or a plain JSON list of such dicts. Results:
``metrics.json`` files as written by every run (``{"encoder", "metrics": {...}, ...}``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter

from visualize._common import new_figure, styled

STEP_KEYS = ('step', 'iter')
SKIP_KEYS = {'step', 'iter', 'epoch', 'time', 'data_time', 'memory', 'eta'}


def find_scalars(path: str | os.PathLike) -> list[Path]:
    """``[path]`` if a file, else every ``<path>/*/vis_data/scalars.json`` of a work dir, oldest first: a resumed
    run (``--resume``) logs into a new timestamped folder and carries on where the last one stopped."""
    path = Path(path)
    if path.is_file():
        return [path]
    found = sorted(path.glob('*/vis_data/scalars.json')) + sorted(path.glob('vis_data/scalars.json'))
    if not found:
        raise ValueError(f'{path}: no scalars.json found (expected <work_dir>/<timestamp>/vis_data/scalars.json '
                         'or a JSON log file)')
    return found


def load_scalars(path: str | os.PathLike) -> list[dict]:
    """Log records from a JSON-lines file, a JSON list of dicts, or a work dir (all its logs, in order: see
    :func:`find_scalars`)."""
    return [record for file in find_scalars(path) for record in _read_records(file)]


def _read_records(path: Path) -> list[dict]:
    text = path.read_text()
    try:
        data = json.loads(text)
        records = data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise ValueError(f'{path}:{number}: not JSON ({err.msg}); expected one object per line') from None
    if not all(isinstance(r, dict) for r in records):
        raise ValueError(f'{path}: expected JSON objects (dicts) per line or a list of dicts')
    return records


def series(records: list[dict]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{key: (steps, values)}`` for every numeric key; step from 'step', else 'iter', else the record index."""
    out: dict[str, tuple[list, list]] = {}
    for index, record in enumerate(records):
        step = next((record[k] for k in STEP_KEYS if k in record), index)
        for key, value in record.items():
            if key in SKIP_KEYS or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            out.setdefault(key, ([], []))
            out[key][0].append(step)
            out[key][1].append(value)
    return {k: (np.asarray(s, float), np.asarray(v, float)) for k, (s, v) in out.items()}


def default_panels(data: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[tuple[str, list[str]]]:
    """Panels for a probe run's log: total loss, the per-probe losses overlaid, lr, then each metric with at
    least two logged points (validation during training), the probes overlaid (``seg/<probe>/mIoU`` -> 'mIoU').
    Metrics logged once (at the end) are left to the results table."""
    panels = [(k, [k]) for k in ('loss',) if k in data]
    per_probe = sorted(k for k in data if k.startswith('loss_'))
    if per_probe:
        panels.append(('loss per probe', per_probe))
    panels += [(k, [k]) for k in ('lr',) if k in data]
    groups: dict[str, list[str]] = {}
    for key in sorted(data):
        if key not in ('loss', 'lr', 'base_lr') and not key.startswith('loss_') and len(data[key][0]) > 1:
            groups.setdefault(key.rsplit('/', 1)[-1], []).append(key)
    return panels + list(groups.items())


@styled
def draw_curves(records: list[dict], keys=None, panel: float = 2.2) -> Figure:
    """Small panels sharing the step axis: loss (log axis), per-probe losses, lr and metrics.

    Args:
        records: From :func:`load_scalars`.
        keys: Keys to plot, one panel each (default: :func:`default_panels`).
        panel: Panel width in inches.
    """
    data = series(records)
    if keys is None:
        panels = default_panels(data)
    else:
        missing = [k for k in keys if k not in data]
        if missing or not keys:
            raise ValueError(f'training log: key(s) {missing or keys} not found; numeric keys are {sorted(data)}')
        panels = [(k, [k]) for k in keys]
    if not panels:
        raise ValueError(f'training log: nothing to plot; numeric keys are {sorted(data)}')
    cols = min(len(panels), 4)
    rows = -(-len(panels) // cols)
    fig = new_figure(panel * cols, 1.7 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (title, panel_keys) in zip(axes.flat, panels):
        _plot_panel(ax, data, title, panel_keys)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    return fig


def _plot_panel(ax, data: dict, title: str, keys: list[str]) -> None:
    for i, key in enumerate(keys):
        steps, values = data[key]
        # 'loss_<probe>' -> '<probe>'; '<probe>/<metric>' -> '<probe>'
        label = (key[5:] if key.startswith('loss_') else key.rsplit('/', 1)[0]) if len(keys) > 1 else None
        ax.plot(steps, values, color=f'C{i % 10}' if len(keys) > 1 else '#1f77b4', linewidth=1.0, label=label,
                marker='o' if len(steps) < 20 else None, markersize=3)
    values = np.concatenate([data[k][1] for k in keys])
    if title.startswith('loss') and (values > 0).all():
        ax.set_yscale('log')
        ax.yaxis.set_major_formatter(FormatStrFormatter('%g'))
        ax.yaxis.set_minor_formatter(FormatStrFormatter('%g'))
    if 1 < len(keys) <= 12:
        ax.legend(fontsize=5, frameon=False, loc='best')
    ax.set_title(title)
    ax.set_xlabel('step')
    ax.grid(alpha=0.25, linewidth=0.5)


def load_results(paths, split: str = 'val') -> list[dict]:
    """Parsed ``metrics.json`` files (a directory means ``<dir>/metrics.json``), each with ``'metrics'``.

    Each result also gets ``'run'`` (its directory's name) and ``'values'``: the numbers ``draw_bars`` compares.
    A run of ``sprobe train`` nests its metrics by split (``metrics[split]['<probe>/<metric>']``) and names the best
    probe of each family (``best['seg/linear'][split]``); ``values`` then holds ``'<probe>/<metric>'`` and
    ``'<family>/<metric>'`` (e.g. ``'seg/linear/mIoU'``: the best linear probe) of ``split``. A flat
    ``{"metrics": {name: number}}`` is taken as it is.
    """
    results = []
    for path in map(Path, paths):
        path = path / 'metrics.json' if path.is_dir() else path
        try:
            result = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f'{path}: cannot read results JSON ({err})') from None
        if not isinstance(result, dict) or not isinstance(result.get('metrics'), dict):
            raise ValueError(f'{path}: expected {{"encoder": ..., "metrics": {{...}}}} as written by a run')
        result.setdefault('run', path.parent.name)
        result['values'] = _values(result, split, path)
        results.append(result)
    return results


def _values(result: dict, split: str, path: Path) -> dict[str, float]:
    metrics = result['metrics']
    if all(isinstance(v, (int, float)) for v in metrics.values()):
        return dict(metrics)
    if split not in metrics:
        raise ValueError(f'{path}: no {split!r} metrics (has {sorted(metrics)})')
    values = dict(metrics[split])
    for family, entry in result.get('best', {}).items():
        values.update({f'{family}/{name}': v for name, v in entry.get(split, {}).items()})
    return values


def lookup(result: dict, dotted: str):
    """``result['a']['b']`` for ``'a.b'`` (labels such as 'encoder' or 'config.layers')."""
    value = result
    for part in dotted.split('.'):
        if not isinstance(value, dict) or part not in value:
            raise ValueError(f'results: no key {dotted!r} (available: {sorted(result)})')
        value = value[part]
    return value


@styled
def draw_bars(results: list[dict], metrics, label: str = 'encoder', panel: float = 2.4) -> Figure:
    """Grouped bars: one group per metric, one bar per run labelled by ``label`` (a dotted key).

    Args:
        results: From :func:`load_results`.
        metrics: Names in each result's ``'values'`` (see :func:`load_results`).
        label: Key naming each run ('encoder', 'run' (its directory), 'config.layers', ...).
        panel: Width per metric group in inches.
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for m in metrics:
        for r in results:
            if m not in r['values']:
                raise ValueError(f'results: metric {m!r} missing for {lookup(r, label)} '
                                 f'(has {sorted(r["values"])[:12]})')
    names = [str(lookup(r, label)) for r in results]
    width = 0.8 / len(results)
    fig = new_figure(max(2.6, panel * len(metrics) + 1.2), 2.2)
    ax = fig.subplots()
    colours = [f'C{i % 10}' for i in range(len(results))]
    for i, (name, result) in enumerate(zip(names, results)):
        values = [np.nan if result['values'][m] is None else result['values'][m] for m in metrics]  # null: none
        bars = ax.bar(np.arange(len(metrics)) + (i - (len(results) - 1) / 2) * width, values, width * 0.92,
                      color=colours[i], label=name)
        ax.bar_label(bars, fmt='%.3g', fontsize=6, padding=1)
    ax.set_xticks(np.arange(len(metrics)), metrics)
    ax.grid(axis='y', alpha=0.25, linewidth=0.5)
    ax.set_axisbelow(True)
    ax.legend(title=label, loc='upper left', bbox_to_anchor=(1.0, 1.0))
    return fig
