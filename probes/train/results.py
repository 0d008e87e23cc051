"""Run results as data: ``metrics.json`` (config hash, encoder, weight hash, versions, metrics) and tables."""
from __future__ import annotations

import hashlib
import platform

import torch


def config_hash(config_text: str) -> str:
    """sha256 of the resolved config's text."""
    return hashlib.sha256(config_text.encode()).hexdigest()


def state_sha256(module: torch.nn.Module) -> str:
    """sha256 over a module's state dict (names, dtypes, shapes and bytes, in name order)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f'{name}:{t.dtype}:{tuple(t.shape)}'.encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b'')
    return digest.hexdigest()


def run_header(cfg, encoder: torch.nn.Module) -> dict:
    """What every results file starts with: the config hash, the encoder, its weights (``random-init-seed<N>``
    for random weights, else the checkpoint's sha256) and the hash of the state that actually ran, versions."""
    return {'config_hash': config_hash(cfg.pretty_text), 'encoder': dict(cfg.get('encoder', {})).get('name', 'custom'),
            'encoder_weights': getattr(encoder, 'weights_sha256', 'unknown'),
            'encoder_weights_sha256': state_sha256(encoder), 'versions': versions()}


# data set types whose images are generated (random weights are expected there: demos, tests)
SYNTHETIC_DATA = ('scenes', 'scenes_detection', 'ref_scenes')


def random_weights_warning(cfg, encoder: torch.nn.Module) -> str | None:
    """A warning when a random-init encoder runs on a real data set (a config without ``encoder.weights``
    silently measures random features); None otherwise."""
    weights = str(getattr(encoder, 'weights_sha256', ''))
    kinds = sorted({dict(split).get('type') for split in dict(cfg.get('data') or {}).values()
                    if isinstance(split, dict)} - {None, *SYNTHETIC_DATA})
    if not weights.startswith('random-init') or not kinds:
        return None
    return (f'RANDOM WEIGHTS: encoder {dict(cfg.get("encoder", {})).get("name", "custom")!r} is {weights} '
            f'on real data ({", ".join(kinds)}); set encoder.weights to a checkpoint path or hub id '
            f'(e.g. --cfg-options encoder.weights=google/siglip2-base-patch16-224). The results record '
            f'encoder_weights={weights!r}.')


def warn_random_weights(cfg, encoder: torch.nn.Module, logger=None) -> None:
    """Log :func:`random_weights_warning` (mmengine's logger when given, so it lands in the run's log file)."""
    message = random_weights_warning(cfg, encoder)
    if message is None:
        return
    if logger is not None:
        logger.warning(message)
    else:
        import sys
        print(f'warning: {message}', file=sys.stderr)


def write_run_results(cfg, encoder: torch.nn.Module, metrics: dict, work_dir, **extra) -> dict:
    """Write the resolved ``config.py`` and ``metrics.json`` (:func:`run_header` + ``metrics`` + ``extra``)."""
    from pathlib import Path
    from dense.io import write_bytes, write_json
    results = {**run_header(cfg, encoder), 'metrics': metrics, **extra}
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    write_bytes(work_dir / 'config.py', cfg.pretty_text.encode())
    write_json(work_dir / 'metrics.json', results, sort_keys=True)
    return results


def versions() -> dict[str, str]:
    """Versions of python and the libraries a result depends on."""
    import mmengine
    import mmseg
    import numpy
    import timm
    return {'python': platform.python_version(), 'torch': torch.__version__, 'timm': timm.__version__,
            'mmengine': mmengine.__version__, 'mmseg': mmseg.__version__, 'numpy': numpy.__version__}


def _columns(task: str, probes: list[str], values: dict) -> tuple[str, ...]:
    """The task's ``table_metrics``, else every metric of its first probe; a task with ``table_per_split`` also
    gets its first metric per tagged split (``Acc@0.5.refcoco_testA``, ...)."""
    from probes.tasks import TASKS
    columns = getattr(TASKS.get(task), 'table_metrics', None)
    metrics = tuple(k.rsplit('/', 1)[1] for k in values if k.rsplit('/', 1)[0] == probes[0])  # its own, not a
    # sub-row's (``scenes/blind/...`` is a row of its own)
    if columns and getattr(TASKS.get(task), 'table_per_split', False):
        return tuple(columns) + tuple(sorted(m for m in metrics if m.startswith(columns[0] + '.')))
    return tuple(columns) if columns else metrics


def _cell(value) -> str:
    """A table cell: two decimals, 'n/a' for a missing score (NaN / null: nothing valid to score)."""
    if value is None or value != value:
        return 'n/a'
    return f'{value:.2f}'


def markdown_table(results: dict, split: str = 'val') -> str:
    """One table per task, one row per probe (the best of each family marked), from a ``metrics.json`` dict.

    Columns are the task's ``table_metrics`` (e.g. mIoU, mAcc, aAcc for segmentation).
    """
    values = results['metrics'].get(split, {})
    best = {b['probe'] for b in results.get('best', {}).values()}
    by_task: dict[str, list[str]] = {}
    for probe in sorted({key.rsplit('/', 1)[0] for key in values}):
        by_task.setdefault(probe.split('/', 1)[0], []).append(probe)
    tables = []
    for task, probes in by_task.items():
        columns = _columns(task, probes, values)
        lines = [f'| probe ({split}) | ' + ' | '.join(columns) + ' |', '|---|' + '---|' * len(columns)]
        for probe in probes:
            cells = [_cell(values.get(f'{probe}/{m}')) for m in columns]
            lines.append(f'| {probe}{" (best)" if probe in best else ""} | ' + ' | '.join(cells) + ' |')
        tables.append('\n'.join(lines) + '\n')
    return '\n'.join(tables)
