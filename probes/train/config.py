"""Config loading and checks shared by every command: a file that does not parse names itself, a misspelt
top-level key or ``--cfg-options`` key is an error with a suggestion (``difflib``), schedules are checked, and
``'{data_root}'`` in a data set's options is filled in when the data set is built, so
``--cfg-options data_root=DIR`` reaches every split (mmengine configs copy python variables at load time)."""
from __future__ import annotations

import difflib
from pathlib import Path

from mmengine.config import Config

# top-level keys the runner, the evaluations and the commands read; anything else close to one is a typo
KNOWN_KEYS = frozenset({
    'encoder', 'text_encoder', 'tasks', 'probes', 'data', 'data_root', 'schedule', 'work_dir', 'optimizer',
    'inference', 'train_batch_size', 'val_batch_size', 'num_workers', 'seed', 'clip_grad', 'log_level',
    'experiment_name', 'evaluation', 'feature_figures', 'visualizer', 'custom_hooks', 'default_hooks',
    'tensorboard', 'cache', 'features', 'launcher', 'dist_backend', 'lr_selection', 'train_shuffle', 'compile',
    # sprobe pretrain / rank configs
    'batch_size', 'encoders', 'evaluations', 'seeds', 'duplicate_captions'})


def load_config(path: str | Path) -> Config:
    """A config file as an mmengine ``Config``; a missing file or one that does not run is a one-line error
    naming it."""
    if not Path(path).is_file():
        raise FileNotFoundError(f'{path}: config file not found')
    try:
        return Config.fromfile(str(path))
    except SyntaxError as err:
        raise ValueError(f'{path}: not a valid python config (line {err.lineno}: {err.msg})') from None
    except (NameError, AttributeError, ZeroDivisionError, TypeError, ImportError) as err:
        raise ValueError(f'{path}: the config fails to run ({type(err).__name__}: {err})') from None


def suggest(key: str, known) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or ''."""
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
    return f' (did you mean {close[0]!r}?)' if close else ''


def apply_options(cfg: Config, options: dict) -> Config:
    """Merge ``--cfg-options`` into ``cfg``; a top-level key neither in the config nor known is an error (it
    would be ignored silently)."""
    for key in options:
        top = key.split('.', 1)[0]
        if top not in cfg and top not in KNOWN_KEYS:
            raise KeyError(f'--cfg-options {key}: the config has no key {top!r}'
                           f'{suggest(top, set(cfg) | KNOWN_KEYS)}')
    cfg.merge_from_dict(options)
    return cfg


def check_config(cfg: Config) -> None:
    """Refuse a config with a misspelt top-level key or an impossible schedule before anything runs."""
    where = cfg.filename or 'config'
    for key in cfg:
        if key not in KNOWN_KEYS and not key.startswith('_'):
            hint = suggest(key, KNOWN_KEYS)
            if hint:  # helper variables (crop = 512) are fine; a near miss of a known key is a typo
                raise KeyError(f'{where}: unknown top-level key {key!r}{hint}')
    schedule = dict(cfg.get('schedule') or {})
    for name in ('max_iters', 'epochs'):
        if name in schedule and not (isinstance(schedule[name], (int, float)) and schedule[name] > 0):
            raise ValueError(f'{where}: schedule.{name} must be a positive number, got {schedule[name]!r}')
    for name in ('warmup_iters', 'warmup_epochs', 'val_interval', 'checkpoint_interval', 'log_interval'):
        if name in schedule and not (isinstance(schedule[name], (int, float)) and schedule[name] >= 0):
            raise ValueError(f'{where}: schedule.{name} must be >= 0, got {schedule[name]!r}')
    if schedule.get('warmup_iters', 0) and 'max_iters' in schedule and schedule['warmup_iters'] >= schedule['max_iters']:
        raise ValueError(f'{where}: schedule.warmup_iters ({schedule["warmup_iters"]}) must be below max_iters '
                         f'({schedule["max_iters"]})')
    for name in ('train_batch_size', 'val_batch_size'):
        if name in cfg and not (isinstance(cfg[name], int) and cfg[name] > 0):
            raise ValueError(f'{where}: {name} must be a positive integer, got {cfg[name]!r}')


def data_options(cfg: Config, split: str) -> dict:
    """``cfg.data[split]`` as plain options with ``'{data_root}'`` in string values replaced by ``cfg.data_root``."""
    if split not in cfg.data:
        raise KeyError(f'the config has no data.{split}; it has {sorted(cfg.data)}')
    root = cfg.get('data_root')

    def fill(value):
        if isinstance(value, str) and '{data_root}' in value:
            if root is None:
                raise ValueError(f'data.{split} uses {{data_root}} but the config sets no data_root')
            return value.replace('{data_root}', str(root))
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value
    return fill(dict(cfg.data[split]))


def dataset_metainfo(cfg: Config) -> dict | None:
    """Class names and palette of the config's training data (:func:`dense.datasets.metainfo.class_metainfo`)."""
    from dense.datasets.metainfo import class_metainfo
    data = cfg.get('data') or {}
    split = next((s for s in ('train', 'val', 'test') if s in data), None)
    return class_metainfo(data_options(cfg, split)) if split else None


def task_options(cfg: Config, name: str) -> dict:
    """``cfg.tasks[name]``; a segmentation task without ``class_names`` gets its data set's (metrics keyed by
    class name, e.g. ``IoU.wall``), when their number matches ``num_classes``."""
    options = dict(cfg.tasks[name] or {})
    if name == 'seg' and not options.get('class_names'):
        meta = dataset_metainfo(cfg)
        if meta and len(meta['classes']) == options.get('num_classes'):
            options['class_names'] = meta['classes']
    return options
