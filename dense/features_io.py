"""Feature files: safetensors with ``layer_<i>`` (N, C, h, w) and ``pooled`` (N, C), metadata as JSON strings."""
from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .extract import Features
from .io import atomic_path


def save_features(path: str | Path, features: Features, **metadata) -> Path:
    """Write ``features`` to ``path`` atomically; ``metadata`` values are stored JSON-encoded."""
    tensors = {f'layer_{i}': t.contiguous() for i, t in features.layers.items()}
    tensors['pooled'] = features.pooled.contiguous()
    meta = {'image_paths': features.image_paths, 'image_size': list(features.image_size), **metadata}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={k: json.dumps(v) for k, v in meta.items()})
    return Path(path)


def load_features(path: str | Path) -> tuple[Features, dict]:
    """Read a feature file written by :func:`save_features`: the features and their metadata."""
    path = Path(path)
    try:
        tensors = load_file(str(path))
        with open(path, 'rb') as handle:
            header_len = int.from_bytes(handle.read(8), 'little')
            raw = json.loads(handle.read(header_len)).get('__metadata__', {})
    except (OSError, SafetensorError, ValueError) as err:
        raise ValueError(f'{path}: not a readable feature file ({err})') from None
    meta = {k: json.loads(v) for k, v in raw.items()}
    layers = {int(k.split('_', 1)[1]): v for k, v in tensors.items() if k.startswith('layer_')}
    if not layers or 'pooled' not in tensors:
        raise ValueError(f'{path}: no layer_<i> / pooled tensors; was it written by `sprobe extract`?')
    features = Features(dict(sorted(layers.items())), tensors['pooled'], tuple(meta.get('image_size', ())),
                        list(meta.get('image_paths', [])))
    return features, meta
