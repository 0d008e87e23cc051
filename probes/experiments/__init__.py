"""Runnable experiments that back the claims in the README (each prints its numbers)."""
from __future__ import annotations

import argparse


def add_config_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    """The options every scenes experiment takes: ``--config``, ``--work-dir`` and ``--cfg-options``."""
    from mmengine.config import DictAction
    parser.add_argument('--config', default=default, help='the experiment config (default: %(default)s)')
    parser.add_argument('--work-dir', help='override the config work_dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. encoder.name=scenes-dense schedule.max_iters=800')


def experiment_config(config, work_dir: str | None = None, options: dict | None = None):
    """The experiment's config (a path or a Config) with ``options`` (``--cfg-options``, unknown keys refused with
    a suggestion) and ``work_dir`` applied."""
    from probes.train import as_config
    from probes.train.config import apply_options
    cfg = apply_options(as_config(config), options or {})
    if work_dir:
        cfg.work_dir = work_dir
    return cfg
