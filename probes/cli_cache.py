"""Extract the training split's feature cache of a config (data-parallel under torchrun / srun; resumable).

Example: sprobe cache configs/seg/ade20k_linear-dpt_siglip2-b16-512.py --cfg-options cache.root=work_dirs/cache
         torchrun --nproc_per_node 8 -m dense.cli cache CONFIG   (every rank writes its own shards)
"""
from __future__ import annotations

import argparse

from probes.cli_train import add_arguments as add_train_arguments, load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_train_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from probes.train import dist
    from probes.train.cached import ensure_train_cache
    from probes.train.runner import _dataset, build_encoder_from_config, build_model
    cfg = load_config(args)
    if not cfg.get('cache'):
        cfg.cache = dict()
    dist.init_distributed(dist.launcher_of(cfg), cfg.get('dist_backend'))
    model = build_model(cfg, build_encoder_from_config(cfg))
    cache = ensure_train_cache(cfg, model, lambda: _dataset(cfg, 'train'))
    if dist.rank_world()[0] == 0:
        print(f'{cache.folder}: {cache.num_images} images x {cache.views} view(s), layers {list(cache.layers)}')
    return 0
