"""Probe training from the feature cache (``dense.cache``): the train split's features are extracted once (per
rank under torchrun / SLURM) and every training step reads them instead of running the frozen encoder.

A config opts in with ``cache = dict(root='work_dirs/cache', views=1, dtype='float16', shard_size=256)``: ``views`` augmented views per training image are stored (refused when the schedule would
draw more on the fly, :func:`dense.cache.check_views`); the probes' layers are stored. Validation and
test run on the fly (their inference settings — windows, scales, flips — need the images).
"""
from __future__ import annotations

import torch

from dense.cache import FeatureCache, build_cache, cache_dir, cache_key, check_views, MANIFEST
from dense.datasets.common import collate
from probes.train.config import data_options
from probes.train.dist import barrier, rank_world

CACHE_OPTIONS = {'root', 'views', 'dtype', 'shard_size'}


def collate_cached(samples: list[dict]) -> dict:
    """Stack cached items into a training batch: ``features`` (``{layer: Tensor[N, C, h, w]}``), ``pooled``,
    ``image_size`` ``(H, W)`` (in place of the images: :func:`dense.datasets.common.batch_image_size`), the labels,
    instance keys and ``meta`` as :func:`dense.datasets.common.collate` batches them."""
    batch = collate([{k: v for k, v in s.items() if k not in ('features', 'pooled', 'image_size')}
                     for s in samples])
    batch['features'] = {i: torch.stack([s['features'][i] for s in samples]) for i in samples[0]['features']}
    batch['pooled'] = torch.stack([s['pooled'] for s in samples])
    sizes = {tuple(s['image_size']) for s in samples}
    if len(sizes) > 1:
        raise ValueError(f'cache: cannot batch views of different image sizes {sorted(sizes)}')
    batch['image_size'] = sizes.pop()
    return batch


def train_cache_key(cfg, model) -> dict:
    """The cache key of the config's training split (its data options, held-out selection and feature options)."""
    opts = dict(cfg.cache)
    unknown = set(opts) - CACHE_OPTIONS
    if unknown:
        raise ValueError(f'cache: unknown options {sorted(unknown)}; known: {sorted(CACHE_OPTIONS)}')
    data = dict(data_options(cfg, 'train'), lr_selection=cfg.get('lr_selection'))
    return cache_key(model.encoder, model.layers, data, views=opts.get('views', 1), seed=cfg.get('seed', 0),
                     dtype=opts.get('dtype', 'float16'), features=model.feature_settings)


def ensure_train_cache(cfg, model, dataset_of) -> FeatureCache:
    """The training split's cache (``dataset_of()`` builds the data set), extracted with the model's own feature
    computation when missing: data-parallel over the ranks, resumable."""
    key = train_cache_key(cfg, model)
    root = cfg.cache.get('root', 'work_dirs/cache')
    if not (cache_dir(root, key) / MANIFEST).is_file():
        rank, world = rank_world()
        device = torch.device(f'cuda:{torch.cuda.current_device()}' if torch.cuda.is_available() else 'cpu')
        model.to(device)
        build_cache(model.encoder, dataset_of(), key, root, cfg.cache.get('shard_size', 256), rank=rank,
                    world_size=world, barrier=barrier,
                    encode=lambda x01: model.features(x01.to(device, non_blocking=True), with_pooled=True))
    return FeatureCache(cache_dir(root, key), key)


def cached_train_loader(cfg, model, dataset_of, schedule_of) -> dict:
    """mmengine ``train_dataloader`` over the cache; ``schedule_of(num_images, batch)`` resolves the schedule,
    whose length decides how many augmented views the run needs."""
    cache = ensure_train_cache(cfg, model, dataset_of)
    batch_size = cfg.get('train_batch_size', 8)
    schedule = schedule_of(cache.num_images, batch_size)
    check_views(cache, bool(cfg.data.train.get('augment')), schedule['max_iters'], batch_size)
    workers = cfg.get('num_workers', 0)
    return dict(dataset=cache, batch_size=batch_size, num_workers=workers, persistent_workers=workers > 0,
                pin_memory=torch.cuda.is_available(), collate_fn=dict(type=collate_cached),
                sampler=dict(type='InfiniteSampler', shuffle=cfg.get('train_shuffle', True)))
