"""Feature cache: extract once, train many heads (DINOv2 / Probe3D runs push every image through the frozen
encoder on every step; a linear probe needs the encoder only once per augmented view).

Layout (one folder per key, ``<root>/<variant>-<key hash[:12]>/``)::

    manifest.json                 # the key, views, number of images and items, the shard list (written last)
    shard-00000.safetensors       # items [0, shard_size): per item ``<k>/layer.<i>``, ``<k>/pooled`` and labels
                                  # (dense maps, boxes, target boxes); strings (expressions) in its metadata

An *item* is one augmented view of one image: item ``k`` is image ``k % num_images``, view ``k // num_images``;
view ``v`` of image ``i`` is drawn with python's ``random`` seeded by ``(seed, i, v)``, so the same views can be
produced on the fly (:class:`AugmentedViews`) and the cache is reproducible. Shards are written atomically
(``dense.io.atomic_path``); a shard that fails validation (another key, wrong item count, truncated) is rebuilt by
:func:`build_cache` and refused by :class:`FeatureCache`. Reading uses positioned reads of the safetensors byte
ranges (no memory map), so the memory of a training run stays flat in the data-set size.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import struct
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from dense.datasets.common import LABEL_KEYS
from dense.io import atomic_path, write_json

CACHE_FORMAT = 2  # 2: instance keys (boxes, expressions) stored; format-1 caches are refused by key
INSTANCE_KEYS = ('target_box', 'boxes', 'box_labels')  # tensors of any length per item
TEXT_KEYS = ('expression', 'queries')  # strings, kept in the shard's JSON metadata
MANIFEST = 'manifest.json'
HEADERS_KEPT = 32  # shard headers held by a reader: bounded, so memory stays flat in the data-set size; enough
# that a shuffled sampler over a few thousand images rarely re-reads one (each re-read parses its JSON)
DTYPES = {'float16': torch.float16, 'bfloat16': torch.bfloat16, 'float32': torch.float32}
_ST_DTYPES = {'F16': torch.float16, 'BF16': torch.bfloat16, 'F32': torch.float32, 'F64': torch.float64,
              'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'U8': torch.uint8, 'BOOL': torch.bool}


def cache_key(encoder, layers, data: dict, views: int = 1, seed: int = 0, dtype: str = 'float16',
              features: dict | None = None) -> dict:
    """Everything the cached tensors depend on: encoder, weights, layers, normalisation and input settings
    (``features``: the probe config's feature options, e.g. final LayerNorm on the layers), preprocessing,
    resolution and augmentation (both inside the data set's config ``data``), views, seed and storage dtype."""
    if dtype not in DTYPES:
        raise ValueError(f'cache dtype must be one of {sorted(DTYPES)}, got {dtype!r}')
    return dict(format=CACHE_FORMAT, encoder=encoder.variant, weights=encoder.weights_sha256,
                layers=sorted(int(i) % encoder.depth for i in layers),
                features=json.loads(json.dumps(features or {}, sort_keys=True, default=str)),
                preprocessing=dict(mean=list(encoder.mean), std=list(encoder.std)),
                data=json.loads(json.dumps(data, sort_keys=True, default=str)), views=int(views), seed=int(seed),
                dtype=dtype)


def key_hash(key: dict) -> str:
    """sha256 of the key's canonical JSON."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def cache_dir(root: str | Path, key: dict) -> Path:
    """The folder of ``key`` under ``root``."""
    return Path(root) / f'{key["encoder"]}-{key_hash(key)[:12]}'


class AugmentedViews(Dataset):
    """``views`` reproducible augmented views of every sample of ``dataset`` (item ``k``: image
    ``k % len(dataset)``, view ``k // len(dataset)``); what the cache stores and what on-the-fly training on the
    same views reads."""

    def __init__(self, dataset, views: int = 1, seed: int = 0):
        if views < 1:
            raise ValueError(f'views must be >= 1, got {views}')
        self.dataset, self.views, self.seed = dataset, int(views), int(seed)
        self.num_images = len(dataset)

    def __len__(self) -> int:
        return self.num_images * self.views

    def __getitem__(self, k: int) -> dict:
        image, view = k % self.num_images, k // self.num_images
        state = random.getstate()
        random.seed(f'{self.seed}/{image}/{view}')
        try:
            return self.dataset[image]
        finally:
            random.setstate(state)


def _read_header(path: Path) -> tuple[dict, int]:
    """A safetensors file's header and the offset of its data; raises ValueError when truncated or corrupt."""
    size = path.stat().st_size
    with open(path, 'rb') as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise ValueError(f'{path}: truncated (no safetensors header)')
        (length,) = struct.unpack('<Q', head)
        if length > size - 8:
            raise ValueError(f'{path}: truncated header')
        header = json.loads(handle.read(length))
    ends = [v['data_offsets'][1] for k, v in header.items() if k != '__metadata__']
    if 8 + length + max(ends, default=0) != size:
        raise ValueError(f'{path}: truncated or padded data ({size} bytes, header says {8 + length + max(ends)})')
    return header, 8 + length


def shard_header(path: Path, key_sha: str, start: int, count: int) -> tuple[dict, int]:
    """The header and data offset of the complete shard of this key for items [start, start + count) at ``path``;
    a ``ValueError`` says why the file is not that shard."""
    if not path.is_file():
        raise ValueError('missing')
    try:
        header, offset = _read_header(path)
    except OSError as err:
        raise ValueError(str(err)) from err
    meta = header.get('__metadata__', {})
    if meta.get('key') != key_sha:
        raise ValueError(f'{path}: built for another cache key ({meta.get("key", "none")[:12]})')
    if (int(meta.get('start', -1)), int(meta.get('count', -1))) != (start, count):
        raise ValueError(f'{path}: holds items {meta.get("start")}+{meta.get("count")}, expected {start}+{count}')
    return header, offset


def shard_error(path: Path, key_sha: str, start: int, count: int) -> str | None:
    """Why the shard at ``path`` is not a complete shard of this key for items [start, start + count), or None."""
    try:
        shard_header(path, key_sha, start, count)
    except ValueError as err:  # json.JSONDecodeError is one
        return str(err)
    return None


def _label_tensor(value: torch.Tensor) -> torch.Tensor:
    """Labels stored exactly; class maps as uint8 when they fit."""
    if value.dtype == torch.int64 and value.numel() and 0 <= int(value.min()) and int(value.max()) <= 255:
        return value.to(torch.uint8)
    return value.contiguous()


def _write_shard(path: Path, encode, views: AugmentedViews, start: int, count: int, key_sha: str,
                 dtype: torch.dtype, layers) -> None:
    tensors, metas, texts, last = {}, [], [], None
    for k in range(start, start + count):  # one image a forward: views may differ in size
        sample = views[k]
        image = sample['image']
        if last is not None and last[0].shape == image.shape and torch.equal(last[0], image):
            feats, pooled = last[1]  # the same view again (e.g. the next expression of one image): one forward
        else:
            feats, pooled = encode(image[None])
            last = (image, (feats, pooled))
        for i in layers:
            tensors[f'{k}/layer.{i}'] = feats[i][0].to('cpu', dtype, copy=True).contiguous()
        tensors[f'{k}/pooled'] = pooled[0].to('cpu', dtype, copy=True).contiguous()
        for key in LABEL_KEYS:
            if key in sample:
                tensors[f'{k}/{key}'] = _label_tensor(sample[key])
        for key in INSTANCE_KEYS:  # boxes of any count per item; the target box of a referring expression
            if key in sample:
                tensors[f'{k}/{key}'] = torch.as_tensor(sample[key]).contiguous()
        tensors[f'{k}/image_size'] = torch.tensor(image.shape[-2:])
        metas.append(sample.get('meta', {}))
        texts.append({key: sample[key] for key in TEXT_KEYS if key in sample})
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=dict(key=key_sha, start=str(start), count=str(count),
                                                    meta=json.dumps(metas, default=str), texts=json.dumps(texts)))


def build_cache(encoder, dataset, key: dict, root: str | Path, shard_size: int = 256, device: str = 'cpu',
                rank: int = 0, world_size: int = 1, barrier=None, progress: bool = True, encode=None) -> Path:
    """Extract (or finish extracting) the cache of ``key`` for ``dataset``; returns its folder.

    ``encode(x01: Tensor[1, 3, H, W] on the CPU) -> ({layer: Tensor[1, C, h, w]}, Tensor[1, C])`` computes the
    features (probe training passes ``ProbeModel.features``, so cached and on-the-fly features are the same
    computation); default: :meth:`dense.extract.FeatureExtractor.forward_batch` on ``device``.

    Data-parallel: rank ``r`` of ``world_size`` writes shards ``r, r + world_size, ...``; after ``barrier()``
    rank 0 writes the manifest. Valid shards already there are kept (resuming a killed extraction); invalid
    ones (truncated, another key) and leftover temporary files are rebuilt.
    """
    from dense.extract import FeatureExtractor
    folder = cache_dir(root, key)
    folder.mkdir(parents=True, exist_ok=True)
    views = AugmentedViews(dataset, key['views'], key['seed'])
    sha = key_hash(key)
    if encode is None:
        extractor = FeatureExtractor(encoder, layers=key['layers'], device=device, progress=False)

        def encode(x01):
            out = extractor.forward_batch(x01)
            return out.layers, out.pooled
    num_shards = math.ceil(len(views) / shard_size)
    mine = range(rank, num_shards, world_size)
    for s in tqdm(mine, desc=f'cache rank {rank}', unit='shard', disable=not progress):
        path = folder / f'shard-{s:05d}.safetensors'
        for leftover in folder.glob(f'.{path.name}.*.tmp'):
            leftover.unlink()
        start, count = s * shard_size, min(shard_size, len(views) - s * shard_size)
        if shard_error(path, sha, start, count) is not None:
            _write_shard(path, encode, views, start, count, sha, DTYPES[key['dtype']], key['layers'])
    if barrier is not None:
        barrier()
    if rank == 0:
        shards = [dict(file=f'shard-{s:05d}.safetensors', start=s * shard_size,
                       count=min(shard_size, len(views) - s * shard_size)) for s in range(num_shards)]
        write_json(folder / MANIFEST, dict(key=key, key_sha256=sha, num_images=views.num_images,
                                           num_items=len(views), shards=shards))
    if barrier is not None:
        barrier()
    return folder


class FeatureCache(Dataset):
    """Read a built cache: ``cache[k]`` is item ``k`` as ``{'features': {layer: Tensor[C, h, w]}, 'pooled':
    Tensor[C], <labels>, 'meta': dict, 'image_size': (H, W)}`` (features in the stored dtype), plus the instance
    keys an item has (``target_box``, ``boxes``, ``box_labels``, ``expression``, ``queries``).

    Args:
        folder: The cache folder (``cache_dir(root, key)``).
        key: When given, the cache must have been built for exactly this key (same encoder, weights, layers,
            data, views...); otherwise a ``ValueError`` names the fields that differ.
    """

    def __init__(self, folder: str | Path, key: dict | None = None):
        self.folder = Path(folder)
        manifest_path = self.folder / MANIFEST
        if not manifest_path.is_file():
            raise FileNotFoundError(f'{manifest_path}: no feature cache here (build it with `sprobe cache CONFIG`)')
        manifest = json.loads(manifest_path.read_text())
        self.key = manifest['key']
        if key is not None and key_hash(key) != manifest['key_sha256']:
            differ = sorted(f for f in set(key) | set(self.key) if key.get(f) != self.key.get(f))
            raise ValueError(f'{self.folder}: the cache was built for another configuration (differs in {differ}: '
                             f'cache {[self.key.get(f) for f in differ]}, run {[key.get(f) for f in differ]})')
        self.sha = manifest['key_sha256']
        self.num_images, self.views = manifest['num_images'], self.key['views']
        self.layers = tuple(self.key['layers'])
        self.shards = manifest['shards']
        self._starts = np.array([s['start'] for s in self.shards])
        self._headers: OrderedDict[int, tuple[dict, int, list, list]] = OrderedDict()  # a few shards' headers

    def __len__(self) -> int:
        return int(sum(s['count'] for s in self.shards))

    def _header(self, index: int) -> tuple[dict, int, list, list]:
        if index not in self._headers:
            shard = self.shards[index]
            path = self.folder / shard['file']
            try:
                header, offset = shard_header(path, self.sha, shard['start'], shard['count'])
            except ValueError as err:
                raise ValueError(f'{path}: incomplete or foreign shard, not read ({err}); rerun the extraction') from None
            meta = header['__metadata__']
            self._headers[index] = (header, offset, json.loads(meta['meta']), json.loads(meta.get('texts', '[]')))
            while len(self._headers) > HEADERS_KEPT:
                self._headers.popitem(last=False)
        return self._headers[index]

    @staticmethod
    def _tensor(handle, header: dict, offset: int, name: str) -> torch.Tensor:
        """One tensor read from its byte range (a positioned read, no memory map)."""
        info = header[name]
        begin, end = info['data_offsets']
        dtype = _ST_DTYPES[info['dtype']]
        if end == begin:
            return torch.empty(info['shape'], dtype=dtype)
        data = bytearray(end - begin)
        handle.seek(offset + begin)
        handle.readinto(data)
        return torch.frombuffer(data, dtype=dtype).reshape(info['shape'])

    def __getitem__(self, k: int) -> dict:
        if not 0 <= k < len(self):
            raise IndexError(f'cache item {k} out of range [0, {len(self)})')
        index = int(np.searchsorted(self._starts, k, side='right') - 1)
        header, offset, metas, texts = self._header(index)
        with open(self.folder / self.shards[index]['file'], 'rb') as handle:
            read = lambda name: self._tensor(handle, header, offset, f'{k}/{name}')  # noqa: E731
            sample = {'features': {i: read(f'layer.{i}') for i in self.layers}, 'pooled': read('pooled'),
                      'image_size': tuple(read('image_size').tolist()),
                      'meta': metas[k - self.shards[index]['start']]}
            for key in LABEL_KEYS:
                if f'{k}/{key}' in header:
                    value = read(key)
                    sample[key] = value.long() if value.dtype == torch.uint8 else value
            for key in INSTANCE_KEYS:
                if f'{k}/{key}' in header:
                    sample[key] = read(key)
        if texts:
            sample.update(texts[k - self.shards[index]['start']])
        return sample

    def image_items(self, image: int) -> list[int]:
        """The items (one per view) of image ``image``."""
        return [image + v * self.num_images for v in range(self.views)]


def required_views(augment: bool, max_iters: int, batch_size: int, num_images: int) -> int:
    """How many distinct augmented views per image a run of ``max_iters`` x ``batch_size`` draws (1 without
    augmentation: every epoch sees the same images)."""
    return math.ceil(max_iters * batch_size / num_images) if augment else 1


def check_views(cache: FeatureCache, augment: bool, max_iters: int, batch_size: int) -> None:
    """Refuse a cache holding fewer augmented views than the run would draw on the fly."""
    needed = required_views(augment, max_iters, batch_size, cache.num_images)
    if needed > cache.views:
        raise ValueError(f'{cache.folder}: the run needs {needed} augmented views per image ({max_iters} iterations '
                         f'x batch {batch_size} over {cache.num_images} images) but the cache holds {cache.views}; '
                         f'set cache.views >= {needed}, or train on the fly')


def open_cache(root: str | Path, key: dict) -> FeatureCache:
    """The cache of ``key`` under ``root`` (for kNN / zero-shot / correspondence evaluations), checked."""
    return FeatureCache(cache_dir(root, key), key)
