"""Training-free evaluations (no head is trained): ``EVALUATIONS[type]`` builds one from the config.

The contract follows big_vision's evaluators: ``Evaluation(encoder, work_dir, **options).run() -> dict[str, float]``
(``encoder``: the frozen image encoder of docs/CONTRACTS.md; the evaluation may also build the text tower with
:func:`probes.train.runner.build_text_encoder_from_config`-style options it receives). ``run`` extracts each
image's features once, computes its metrics, writes its figures under ``work_dir`` and returns flat metric names
(``voc/mIoU``, ``scenes/recall@5px``). :func:`run_evaluation` builds the encoder and writes ``config.py`` and
``metrics.json`` (with the encoder and its weights, random-init visible) like a probe run.

Registered evaluations (``evaluation = dict(type=..., ...)`` in a config): the table below, module paths imported
only when used.
"""
from __future__ import annotations

import importlib
from pathlib import Path

# type -> 'module.path:ClassName'
EVALUATIONS: dict[str, str] = {
    'knn': 'probes.evaluations.knn:KNNSegmentation',
    'correspond': 'probes.evaluations.correspond:Correspondence',
    'zeroshot': 'probes.zeroshot.evaluation:ZeroShotSegmentation',
}


def get_evaluation(kind: str) -> type:
    """The evaluation class registered as ``kind``."""
    if kind not in EVALUATIONS:
        raise KeyError(f'unknown evaluation type {kind!r}; known: {sorted(EVALUATIONS)}')
    module, name = EVALUATIONS[kind].split(':')
    return getattr(importlib.import_module(module), name)


def run_evaluation(cfg, encoder=None, kind: str | None = None) -> dict:
    """Run ``cfg.evaluation`` on the frozen encoder of ``cfg.encoder``; write ``config.py`` and ``metrics.json``.

    Args:
        cfg: Config (or dict / file path) with ``encoder``, ``evaluation = dict(type=..., **options)`` and
            ``work_dir``.
        encoder: An already built encoder (else built from ``cfg.encoder``).
        kind: If given, the evaluation type the config must have (``sprobe knn`` refuses a zero-shot config).

    Returns:
        The ``metrics.json`` content.
    """
    from probes.train.results import warn_random_weights, write_run_results
    from probes.train.runner import as_config, build_encoder_from_config
    cfg = as_config(cfg)
    if 'evaluation' not in cfg:
        raise ValueError(f'{cfg.filename or "config"}: no `evaluation = dict(type=...)`; '
                         f'training-free evaluations: {sorted(EVALUATIONS)}')
    options = dict(cfg.evaluation)
    kind_in_config = options.pop('type', None)
    if kind is not None and kind_in_config != kind:
        raise ValueError(f'{cfg.filename or "config"}: evaluation type is {kind_in_config!r}, not {kind!r}')
    evaluation_cls = get_evaluation(kind_in_config)
    encoder = encoder if encoder is not None else build_encoder_from_config(cfg)
    warn_random_weights(cfg, encoder)
    work_dir = Path(cfg.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    metrics = evaluation_cls(encoder=encoder, work_dir=work_dir, cfg=cfg, **options).run()
    return write_run_results(cfg, encoder, {'test': metrics}, work_dir)
