"""Build and run probe training with mmengine's Runner; evaluation, prediction-ready state, results JSON."""
from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.optim import OptimWrapper
from mmengine.runner import set_random_seed
from safetensors.torch import load_file, save_file

from dense.datasets import build_dataset
from dense.datasets.common import collate
from probes.tasks import build_task
from probes.train import holdout
from probes.train.checkpoint import WeightsOnlyCheckpointHook, check_resume_checkpoint
from probes.train.console import ProbeRunner, runner_config, visualizer_config
from probes.train.config import check_config, data_options, load_config, task_options
from probes.train.hooks import ProgressBarHook
from probes.train.metric import ProbeMetric, select_best
from probes.train.model import ProbeModel
from dense.io import atomic_path, work_dir_lock
from probes.train.results import warn_random_weights, write_run_results
from probes.train.schedules import ClosedFormLR  # noqa: F401  (registers the closed-form policies' scheduler)
from probes.train.spec import expand_grid

PROBE_WEIGHTS = 'probes.safetensors'


def as_config(cfg) -> Config:
    """Accept a ``Config``, a dict or a config file path."""
    if isinstance(cfg, Config):
        return cfg
    if isinstance(cfg, (str, Path)):
        return load_config(cfg)
    return Config(dict(cfg))


def build_encoder_from_config(cfg: Config) -> torch.nn.Module:
    """The frozen encoder named in ``cfg.encoder`` (``dict(name=..., weights=..., **overrides)``)."""
    from dense.encoders import build_encoder
    options = dict(cfg.encoder)
    return build_encoder(options.pop('name'), **options)


def build_text_encoder_from_config(cfg: Config):
    """The frozen text tower: ``cfg.text_encoder`` (``dict(name=..., weights=...)``), else the one that comes
    with the image encoder's weights (same name and checkpoint)."""
    from dense.text import build_text_encoder
    options = dict(cfg.get('text_encoder') or {})
    if not options:
        options = {k: v for k, v in dict(cfg.encoder).items() if k in ('name', 'weights', 'seed')}
    return build_text_encoder(options.pop('name'), **options)


def build_model(cfg: Config, encoder: torch.nn.Module, text_encoder=None) -> ProbeModel:
    """Tasks from ``cfg.tasks``, probes from the ``cfg.probes`` grids, seeded head initialisation.

    Tasks with ``needs_text = True`` (detection, referring) get the frozen text tower through ``bind_text``.
    """
    set_random_seed(cfg.get('seed', 0))
    tasks = {name: build_task(name, **task_options(cfg, name)) for name in cfg.tasks}
    needing_text = [task for task in tasks.values() if getattr(task, 'needs_text', False)]
    if needing_text:
        text_encoder = text_encoder if text_encoder is not None else build_text_encoder_from_config(cfg)
        for task in needing_text:
            task.bind_text(text_encoder)
    grids = cfg.probes if isinstance(cfg.probes, (list, tuple)) else [cfg.probes]
    specs = [spec for grid in grids for spec in expand_grid(dict(grid), encoder.depth, encoder.default_layers)]
    if cfg.get('compile'):  # e.g. compile = dict(backend='inductor', mode='max-autotune-no-cudagraphs')
        encoder.compile(**dict(cfg.compile))
    return ProbeModel(encoder, tasks, specs, cfg.get('inference'), cfg.get('features'))


def _dataset(cfg: Config, split: str):
    """``data.<split>``, less its held-out part for ``train``; ``'holdout'``: that part (probes.train.holdout)."""
    sel = holdout.selection(cfg)
    if split == 'holdout':
        train = data_options(cfg, 'train')
        num_train = len(build_dataset(train))
        return holdout.heldout_part(build_dataset(holdout.heldout_options(train, data_options(cfg, 'val'))),
                                    num_train, sel)
    dataset = build_dataset(data_options(cfg, split))
    return holdout.train_part(dataset, sel) if split == 'train' and sel else dataset


def _loader(cfg: Config, split: str, train: bool) -> dict:
    dataset = _dataset(cfg, split)
    workers = cfg.get('num_workers', 0)
    # evaluation: no padding, so with several ranks every sample is scored exactly once (probes.train.dist)
    # train_shuffle=False: Probe3D's single-GPU order (evals/datasets/builder.py shuffles only split 'train')
    sampler = dict(type='InfiniteSampler', shuffle=cfg.get('train_shuffle', True)) if train else \
        dict(type='DefaultSampler', shuffle=False, round_up=False)
    return dict(dataset=dataset, batch_size=cfg.get('train_batch_size', 8) if train else cfg.get('val_batch_size', 1),
                num_workers=workers, persistent_workers=workers > 0, pin_memory=torch.cuda.is_available(),
                collate_fn=dict(type=collate), sampler=sampler)


def _train_loader(cfg: Config, model: ProbeModel) -> dict:
    """The training loader: over the feature cache when the config has ``cache`` (probes.train.cached)."""
    if not cfg.get('cache'):
        return _loader(cfg, 'train', True)
    from probes.train.cached import cached_train_loader
    return cached_train_loader(cfg, model, lambda: _dataset(cfg, 'train'),
                               lambda num, batch: resolve_schedule(cfg.schedule, num, batch))


def _distributed(cfg: Config) -> dict:
    """Runner options for torchrun / SLURM (probes.train.dist): launcher, backend and DDP over the heads."""
    from probes.train import dist
    launcher = dist.launcher_of(cfg)
    dist.init_distributed(launcher, cfg.get('dist_backend'))
    if launcher == 'none':
        return dict(launcher='none')
    cfg.setdefault('model_wrapper_cfg', dist.wrapper_cfg())  # mmengine's Runner reads it from its cfg
    return dict(launcher=launcher, env_cfg=dict(dist_cfg=dict(backend=cfg.get('dist_backend') or torch.distributed.get_backend())))


def _optimizer(cfg: Config, model: ProbeModel) -> OptimWrapper:
    """AdamW with one parameter group per probe at its own learning rate; the encoder is not in it. Fused (one
    kernel over every probe's parameters, CPU and CUDA) unless the config chooses ``foreach`` or ``fused``."""
    opts = dict(weight_decay=1e-4, betas=(0.9, 0.999))
    opts.update(cfg.get('optimizer', {}))
    if 'foreach' not in opts:
        opts.setdefault('fused', True)
    groups = [dict(params=list(head.parameters()), lr=model.specs[name].lr) for name, head in model.probes.items()]
    return OptimWrapper(torch.optim.AdamW(groups, **opts), clip_grad=cfg.get('clip_grad'))


def _schedulers(schedule: dict) -> list[dict]:
    """Linear warm-up, then cosine or poly decay to 0, per iteration; or a reference's closed form
    (:mod:`probes.train.schedules`): ``'probe3d'`` (warm-up from and decay to ``min_factor`` = 0.01 of the peak),
    ``'mmcv_poly'`` (DINOv2's mmseg 0.x poly, counted from iteration 0, times the linear warm-up)."""
    max_iters, warmup = schedule['max_iters'], schedule.get('warmup_iters', 0)
    if schedule.get('policy') == 'probe3d':
        options = dict(max_iters=max_iters, warmup_iters=warmup, min_factor=schedule.get('min_factor', 0.01))
        return [dict(type='ClosedFormLR', policy='probe3d', options=options, by_epoch=False, begin=0, end=max_iters)]
    if schedule.get('policy') == 'mmcv_poly':
        options = dict(max_iters=max_iters, warmup_iters=warmup, warmup_ratio=schedule.get('warmup_ratio', 1e-6),
                       power=schedule.get('power', 1.0))
        return [dict(type='ClosedFormLR', policy='mmcv_poly', options=options, by_epoch=False, begin=0,
                     end=max_iters)]
    out = []
    if warmup:
        out.append(dict(type='LinearLR', start_factor=schedule.get('warmup_ratio', 1e-3), by_epoch=False,
                        begin=0, end=warmup))
    policy = schedule.get('policy', 'cosine')
    if policy == 'cosine':
        out.append(dict(type='CosineAnnealingLR', T_max=max_iters - warmup, eta_min=0.0, by_epoch=False,
                        begin=warmup, end=max_iters))
    elif policy == 'poly':
        out.append(dict(type='PolyLR', power=schedule.get('power', 1.0), eta_min=0.0, by_epoch=False,
                        begin=warmup, end=max_iters))
    else:
        raise ValueError(f"schedule.policy must be 'cosine', 'poly', 'probe3d' or 'mmcv_poly', got {policy!r}")
    return out


def resolve_schedule(schedule: dict, num_train: int, batch_size: int) -> dict:
    """Iteration counts for the runner. An epoch-based schedule (Probe3D: ``epochs=10, warmup_epochs=1.5``) is
    converted with the training set's actual size, so no config has to guess how many images a copy holds;
    an explicit ``max_iters`` (e.g. a smoke config over an epoch-based ``_base_``) wins."""
    out = dict(schedule)
    epochs, warmup_epochs = out.pop('epochs', None), out.pop('warmup_epochs', 0)
    if 'max_iters' not in out:
        if epochs is None:
            raise ValueError('schedule needs max_iters (and warmup_iters) or epochs (and warmup_epochs)')
        per_epoch = -(-num_train // batch_size)
        out['max_iters'] = max(1, round(epochs * per_epoch))
        out.setdefault('warmup_iters', round(warmup_epochs * per_epoch))
        out.setdefault('checkpoint_interval', per_epoch)
    return out


def build_runner(cfg: Config, model: ProbeModel, resume: bool = False, hooks: tuple = ()) -> ProbeRunner:
    """An mmengine Runner: iteration-based training, per-probe val/test metrics, checkpoints in work_dir.

    ``schedule.val_interval`` validates every that many iterations (from ``schedule.val_begin``, default the
    first interval): the val metrics go to the log, ``scalars.json`` and TensorBoard. The config may add
    ``visualizer``, ``custom_hooks`` and ``default_hooks`` (see :mod:`probes.train.console`).
    """
    distributed = _distributed(cfg)
    train_loader = _train_loader(cfg, model)
    dataset = train_loader['dataset']  # a feature cache counts images, not its views
    schedule = resolve_schedule(cfg.schedule, getattr(dataset, 'num_images', len(dataset)), train_loader['batch_size'])
    model.log_interval = schedule.get('log_interval', 50)
    metric = dict(tasks=model.tasks, specs=list(model.specs.values()))
    # with lr_selection the val loop scores the held-out part (selection) and the test loop data.val (reported)
    select = holdout.selection(cfg) is not None
    has_test = 'test' in cfg.data or select
    val_interval = schedule.get('val_interval', schedule['max_iters'])
    default_hooks = dict(
        checkpoint=dict(type='CheckpointHook', by_epoch=False, max_keep_ckpts=2, save_last=True,
                        interval=schedule.get('checkpoint_interval', schedule['max_iters'])),
        logger=dict(type='LoggerHook', interval=schedule.get('log_interval', 50), log_metric_by_epoch=False))
    default_hooks.update(cfg.get('default_hooks') or {})
    return ProbeRunner(
        model=model, work_dir=cfg.work_dir, cfg=runner_config(cfg, distributed.pop('cfg', {})),
        visualizer=visualizer_config(cfg),
        # unique: mmengine keys its logger and visualizer instances by this name
        experiment_name=cfg.get('experiment_name') or f'{time.strftime("%Y%m%d_%H%M%S")}_{uuid.uuid4().hex[:8]}',
        train_dataloader=train_loader, val_dataloader=_loader(cfg, 'holdout' if select else 'val', False),
        test_dataloader=_loader(cfg, 'val' if select else 'test', False) if has_test else None,
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=schedule['max_iters'],
                       val_interval=val_interval, val_begin=schedule.get(
                           'val_begin', val_interval if 'val_interval' in schedule else schedule['max_iters'] + 1)),
        val_cfg=dict(type='ValLoop'), val_evaluator=Evaluator([ProbeMetric(**metric)]),
        test_cfg=dict(type='TestLoop') if has_test else None,
        test_evaluator=Evaluator([ProbeMetric(**metric)]) if has_test else None,
        optim_wrapper=_optimizer(cfg, model), param_scheduler=_schedulers(schedule),
        default_hooks=default_hooks, log_processor=dict(by_epoch=False),
        custom_hooks=[ProgressBarHook(), WeightsOnlyCheckpointHook(), *hooks, *(cfg.get('custom_hooks') or [])],
        randomness=dict(seed=cfg.get('seed', 0)), resume=resume, default_scope=None,
        log_level=cfg.get('log_level', 'INFO'), **distributed)


def run_training(cfg, encoder: torch.nn.Module | None = None, resume: bool = False, hooks: tuple = ()) -> dict:
    """Train every probe of the config, evaluate on val (and test), pick the best probe per family on val.

    Args:
        cfg: Config (or dict / file path) with ``encoder``, ``tasks``, ``probes``, ``data``, ``schedule``,
            ``work_dir`` and optional ``optimizer``, ``inference``, batch sizes, ``seed``.
        encoder: An already built encoder (else built from ``cfg.encoder``).
        resume: Continue from the last checkpoint in ``work_dir`` if there is one.
        hooks: Extra mmengine hooks (instances or config dicts).

    Returns:
        The ``metrics.json`` content, also written to ``work_dir`` with ``config.py`` and ``probes.safetensors``.
    """
    cfg = as_config(cfg)
    check_config(cfg)
    encoder = encoder if encoder is not None else build_encoder_from_config(cfg)
    model = build_model(cfg, encoder)
    # one run per work dir; with several ranks (torchrun / SLURM) rank 0 holds the lock for all
    first_rank = int(os.environ.get('RANK', os.environ.get('SLURM_PROCID', 0))) == 0
    with work_dir_lock(cfg.work_dir) if first_rank else contextlib.nullcontext():
        if resume:
            check_resume_checkpoint(cfg.work_dir)
        runner = build_runner(cfg, model, resume=resume, hooks=hooks)
        warn_random_weights(cfg, encoder, runner.logger)
        runner.train()
        if runner.train_loop.val_begin > runner.max_iters:  # no periodic validation ran the final one
            runner.val()
        metrics = {'val': runner.val_evaluator.metrics[0].last_metrics}
        if 'test' in cfg.data or holdout.selection(cfg):
            runner.test()
            metrics['test'] = runner.test_evaluator.metrics[0].last_metrics
        if holdout.selection(cfg):  # the loops scored the held-out part, then data.val
            metrics = {'holdout': metrics['val'], 'val': metrics['test']}
        work_dir = Path(cfg.work_dir)
        save_probe_state(model, work_dir / PROBE_WEIGHTS)
        return write_results(cfg, model, metrics, work_dir)


def save_probe_state(model: ProbeModel, path: Path) -> None:
    """Probe heads' weights in safetensors (written to a temporary name, then renamed)."""
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.probes.state_dict().items()}, str(tmp))


def load_probe_state(model: ProbeModel, path: str | Path) -> None:
    """Load heads saved by :func:`save_probe_state`; every probe of the model must be present."""
    if not Path(path).is_file():
        raise FileNotFoundError(f'{path}: probe weights not found (train first, or pass the run\'s work dir)')
    state = load_file(str(path))
    missing, unexpected = model.probes.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f'{path}: probe weights do not match the config (missing {missing[:3]}, '
                         f'unexpected {unexpected[:3]})')


def write_results(cfg: Config, model: ProbeModel, metrics: dict, work_dir: Path) -> dict:
    """Write the resolved ``config.py`` and ``metrics.json``; the best probe per family is chosen on val, or on
    the held-out part of train with ``lr_selection`` (probes.train.holdout)."""
    specs = list(model.specs.values())
    best = select_best(metrics['holdout' if 'holdout' in metrics else 'val'], specs, model.tasks)
    return write_run_results(cfg, model.encoder, metrics, work_dir, features=model.feature_settings,
                             selection=holdout.describe(holdout.selection(cfg)), best={
        group: {'probe': name, **{split: {k.rsplit('/', 1)[1]: v for k, v in values.items()
                                          if k.startswith(name + '/')}
                                  for split, values in metrics.items()}}
        for group, name in best.items()})
