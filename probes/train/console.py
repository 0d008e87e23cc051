"""A readable console for training runs and what a config may add to mmengine's Runner.

mmengine's Runner prints the whole environment, the hook table (about 100 lines) and some deprecation notices
at INFO / WARNING; they stay in the run's log file, and the console shows the training log lines. A config can
set ``log_level = 'DEBUG'`` to see everything, ``visualizer = dict(...)`` / ``custom_hooks = [...]`` /
``default_hooks = dict(...)`` as mmengine users expect, and ``tensorboard = False`` to skip TensorBoard event files
(``LocalVisBackend``'s ``scalars.json``, which ``sprobe report`` reads, is always written).
"""
from __future__ import annotations

import logging

from mmengine.runner import Runner

# beginnings of the console messages that are noise for a probe run (kept in the log file)
QUIET_MESSAGES = (
    '\n' + '-' * 60 + '\nSystem environment',
    'Hooks will be executed in the following order',
    'Distributed training is not used',
    '"FileClient" will be deprecated',
    '"HardDiskBackend" is the alias',
    'Config:\n',
)


class QuietConsole(logging.Filter):
    """Drops :data:`QUIET_MESSAGES` from a console handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(QUIET_MESSAGES)


class ProbeRunner(Runner):
    """mmengine's Runner with :class:`QuietConsole` on its console handler (unless ``log_level='DEBUG'``)."""

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        logger = super().build_logger(log_level=log_level, log_file=log_file, **kwargs)
        if str(log_level).upper() != 'DEBUG':
            for handler in logger.handlers:
                if not isinstance(handler, logging.FileHandler):
                    handler.addFilter(QuietConsole())
        return logger


def runner_config(cfg, extra: dict):
    """The config the Runner keeps (it dumps it into the work dir, so the dump is not empty) plus ``extra``
    (e.g. ``model_wrapper_cfg``); keys the Runner would act on itself (``compile``: applied to the heads by
    probes.train.runner) are left out."""
    from mmengine.config import Config
    kept = Config({k: v for k, v in cfg.to_dict().items() if k not in RUNNER_ACTS_ON}, cfg_text=cfg.pretty_text,
                  filename=cfg.filename)
    kept.merge_from_dict(extra)
    return kept


# config keys mmengine's Runner reads from its cfg and acts on (``Runner._maybe_compile``)
RUNNER_ACTS_ON = ('compile',)


def visualizer_config(cfg) -> dict:
    """``cfg.visualizer``, else local scalars (``vis_data/scalars.json``) plus TensorBoard event files."""
    if cfg.get('visualizer'):
        return dict(cfg.visualizer)
    backends = [dict(type='LocalVisBackend')]
    if cfg.get('tensorboard', True):
        backends.append(dict(type='TensorboardVisBackend'))
    return dict(type='Visualizer', vis_backends=backends)
