"""Task-agnostic probe training: many probes on one frozen encoder forward per batch.

How a task plugs in:
    1. Write ``probes/tasks/<name>.py`` with a class following the task protocol (docs/CONTRACTS.md):
       ``name``, ``selection = (metric, 'max' | 'min')`` (picks the best probe on the held-out split),
       ``build_head(kind, in_dims, pooled_dim, **opts)``, ``loss(head_out, batch)``,
       ``predict(head_out, size)``, ``new_evaluator()`` (``process(pred, batch)``, ``compute() -> dict``).
    2. Register it in ``probes.tasks.TASKS``; a data set yielding its batch key goes in ``dense.datasets.DATASETS``.
    3. A config names it: ``tasks = dict(depth=dict(...options...))`` and a probe grid
       ``probes = [dict(task='depth', heads=['linear', 'dpt'], layers=['default'], lrs=[5e-4])]``.
    ``run_training(cfg)`` then trains every probe (one loss each, summed; one AdamW group per probe), writes
    checkpoints (heads only), evaluates every probe on ``data.val`` (and ``data.test``), names metrics
    ``<task>/<head>_l<layers>_lr<lr>[_pool]/<metric>`` and writes ``metrics.json`` with the best probe per
    ``task/head`` family.
"""
from probes.train.metric import ProbeMetric, select_best
from probes.train.model import ProbeModel
from probes.train.runner import (as_config, build_model, build_runner, load_probe_state, run_training,
                                 save_probe_state)
from probes.train.spec import ProbeSpec, expand_grid

__all__ = ['ProbeMetric', 'ProbeModel', 'ProbeSpec', 'as_config', 'build_model', 'build_runner', 'expand_grid',
           'load_probe_state', 'run_training', 'save_probe_state', 'select_best']
