"""Reading SigLIP 2 checkpoints from disk or the Hugging Face cache into timm's layout, with one clear error.

Accepted ``weights``: a transformers directory or hub id (``config.json`` + ``model.safetensors`` [sharded] or
``pytorch_model.bin``); a timm / open_clip ``.safetensors`` (or ``.bin``/``.pth``) file; a big_vision ``.npz``,
optionally ``file.npz:img`` to pick the image tower of a full image-text checkpoint.
"""
import json
import math
import os
import pickle
import re
from pathlib import Path

import numpy as np
import torch

from ..io import sha256_files
from .convert import TEXT_PREFIXES, big_vision_to_timm, hf_to_timm, is_hf_layout, open_clip_to_timm
from .variants import VARIANTS, Variant

ALLOW_DOWNLOAD_ENV = 'SPROBE_ALLOW_DOWNLOAD'
_HUB_ID = re.compile(r'^[\w.-]+/[\w.-]+$')
_WEIGHT_SUFFIXES = ('.safetensors', '.bin', '.pt', '.pth', '.npz')


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the requested variant."""


def why(e: Exception) -> str:
    """The first line of an exception, for one-line error messages."""
    lines = [ln for ln in str(e).splitlines() if ln.strip()]
    return f'{type(e).__name__}: {lines[0][:200] if lines else ""}'


def _image_key(key: str) -> bool:
    return not key.startswith(TEXT_PREFIXES)


def read_tensors(path: Path, keep=_image_key) -> dict:
    """The tensors of a safetensors or torch pickle file whose keys pass ``keep`` (default: the image tower's), as
    float32 where floating."""
    try:
        if path.suffix == '.safetensors':  # read lazily: skip the other tower of image-text checkpoints
            from safetensors import safe_open
            with safe_open(str(path), 'pt') as f:
                state = {k: f.get_tensor(k) for k in f.keys() if keep(k)}
        else:
            state = torch.load(path, map_location='cpu', weights_only=True)
            state = state.get('state_dict', state.get('model', state)) if isinstance(state, dict) else state
            state = {k: v for k, v in state.items() if keep(k)} if isinstance(state, dict) else state
    except pickle.UnpicklingError as e:  # torch's weights_only refused a global: code or a custom class
        found = re.search(r'GLOBAL ([\w.]+)', str(e))
        if not found:  # not a refused global: a damaged pickle
            raise CheckpointError(f'{path}: cannot read checkpoint (the pickle is damaged); the file is '
                                  'truncated or not a weight file: download it again') from e
        raise CheckpointError(
            f'{path}: not a safe weights file: its pickle holds python objects besides tensors '
            f'({found.group(1)}), which are never loaded here; if you trust its source, '
            'convert it once: load it with torch.load(path, weights_only=False), save the state dict with '
            'safetensors.torch.save_file and pass the .safetensors') from e
    except Exception as e:  # safetensors / zip errors all mean the same thing to the user
        raise CheckpointError(f'{path}: cannot read checkpoint ({why(e)}); the file is truncated '
                              'or not a weight file: download it again') from e
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f'{path}: expected a flat dict of tensors (a state dict)')
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def read_npz(path: Path) -> dict:
    """Every array of a big_vision npz, keys '/'-joined without the leading ``params/``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:
        raise CheckpointError(f'{path}: cannot read npz ({why(e)}); the file is truncated or not '
                              'a big_vision checkpoint: download it again') from e
    return {k.removeprefix('params/'): v for k, v in arrays.items()}


def _read_npz(path: Path, subtree: str | None) -> dict:
    """Arrays of one image tower in a big_vision npz, keys relative to the tower."""
    arrays = read_npz(path)
    if subtree is None and 'img/embedding/kernel' in arrays:
        subtree = 'img'
    if subtree:
        arrays = {k[len(subtree) + 1:]: v for k, v in arrays.items() if k.startswith(subtree + '/')}
    if 'embedding/kernel' not in arrays:
        where = f"subtree '{subtree}'" if subtree else 'the root, params/ or img/'
        raise CheckpointError(f'{path}: no image tower (embedding/kernel) under {where}; for a full image-text '
                              "checkpoint append ':img' to the path")
    return arrays


def hf_dir_files(d: Path) -> list:
    """The weight file(s) of a transformers / open_clip directory (shards in index order)."""
    index = d / 'model.safetensors.index.json'
    if index.exists():
        shards = sorted(set(json.loads(index.read_text())['weight_map'].values()))
        return [d / s for s in shards]
    for name in ('model.safetensors', 'open_clip_model.safetensors', 'pytorch_model.bin',
                 'open_clip_pytorch_model.bin'):
        if (d / name).exists():
            return [d / name]
    raise CheckpointError(f'{d}: no model.safetensors, shard index or pytorch_model.bin in this directory')


def hub_snapshot(repo_id: str, allow_download: bool, extra_patterns: tuple = ()) -> Path:
    """Local snapshot dir of a hub repo (config and weights, plus ``extra_patterns``); from the cache only unless
    downloads are allowed."""
    from huggingface_hub import snapshot_download
    try:
        return Path(snapshot_download(
            repo_id, local_files_only=not allow_download, cache_dir=os.environ.get('HF_HUB_CACHE'),
            allow_patterns=['config.json', '*.safetensors', '*.safetensors.index.json', *extra_patterns]))
    except Exception as e:
        if allow_download:
            raise CheckpointError(f'{repo_id}: cannot fetch from the Hugging Face hub ({why(e)}); check the id '
                                  'and your network') from e
        raise CheckpointError(f'{repo_id}: not in the local Hugging Face cache ({type(e).__name__}); pass '
                              f'allow_download=True (or set {ALLOW_DOWNLOAD_ENV}=1) when online, or give a local '
                              'directory') from e


def check_hf_config(config: dict, variant: Variant, where) -> None:
    """Raise if a transformers config does not describe ``variant`` (dims, NaFlex-ness, activation)."""
    vc = config.get('vision_config', config)
    mtype = config.get('model_type', '')
    if mtype and mtype.startswith('siglip2') != variant.naflex:
        want = 'siglip2 (NaFlex)' if variant.naflex else 'siglip (fixed resolution)'
        raise CheckpointError(f'{where}: model_type {mtype!r} but {variant.key} needs {want}; pick the matching '
                              'variant')
    want = {'hidden_size': variant.width, 'num_hidden_layers': variant.depth, 'num_attention_heads': variant.heads,
            'intermediate_size': variant.mlp, 'patch_size': variant.patch}
    if not variant.naflex:
        want['image_size'] = variant.image_size
    bad = [f'{k}={vc[k]} (variant {v})' for k, v in want.items()
           if k in vc and vc[k] != v and not (k == 'image_size' and vc[k] // variant.patch == variant.grid)]
    if bad:
        raise CheckpointError(f'{where}: config.json does not match {variant.key}: {", ".join(bad)}; '
                              f'pick the variant the checkpoint was trained as')
    act = vc.get('hidden_act', 'gelu_pytorch_tanh')
    if act not in ('gelu_pytorch_tanh', 'gelu_tanh', 'gelu_new'):
        raise CheckpointError(f'{where}: hidden_act {act!r}; SigLIP 2 uses tanh-GELU (gelu_pytorch_tanh) and so '
                              'does this encoder')


def locate(weights, allow_download: bool = False, extra_patterns: tuple = ()) -> tuple:
    """Where a ``weights`` spec points: ``(local path, npz subtree)``.

    The subtree is None for anything but an npz (``file.npz`` -> ``''``, ``file.npz:txt`` -> ``'txt'``); a hub id is
    resolved to its local snapshot (see :func:`hub_snapshot`).
    """
    spec = str(weights).removeprefix('hf-hub:')
    npz = re.fullmatch(r'(.+\.npz)(?::(\w+))?', spec)
    path = Path(npz.group(1) if npz else spec).expanduser()
    if not path.exists():
        if npz or path.suffix in _WEIGHT_SUFFIXES or not _HUB_ID.match(spec):
            raise CheckpointError(f'{path}: no such file or directory')
        path = hub_snapshot(spec, allow_download, extra_patterns)
    return path, (npz.group(2) or '') if npz else None


def read_hf_config(path: Path) -> dict | None:
    """The ``config.json`` of a transformers directory, or None if it has none."""
    if not (path.is_dir() and (path / 'config.json').exists()):
        return None
    try:
        return json.loads((path / 'config.json').read_text())
    except ValueError as e:
        raise CheckpointError(f'{path / "config.json"}: not valid JSON ({why(e)})') from e


def read_checkpoint(weights, variant: Variant, allow_download: bool = False) -> tuple:
    """Read any supported checkpoint into a timm-layout state dict.

    Args:
        weights: Path, ``file.npz:subtree`` or hub id (see module docstring).
        variant: The variant it should hold (used for config checks and NaFlex patch folding).
        allow_download: Fetch a hub id that is not cached.

    Returns:
        (state dict in timm layout, list of weight files read).
    """
    path, npz = locate(weights, allow_download)
    if npz is not None:
        arrays = _read_npz(path, npz or None)
        file_naflex = arrays['embedding/kernel'].ndim == 2  # NaFlex embeds patches with a Dense layer
        if file_naflex != variant.naflex:
            kinds = {True: 'NaFlex', False: 'fixed-resolution'}
            raise CheckpointError(f'{path}: a {kinds[file_naflex]} image tower, but {variant.key} is '
                                  f'{kinds[variant.naflex]}; pick the matching variant')
        try:
            return big_vision_to_timm(arrays), [path]
        except KeyError as e:
            raise CheckpointError(f'{path}: big_vision key {e.args[0]!r} missing; the file is not a complete '
                                  'SigLIP 2 image tower') from e
    files = hf_dir_files(path) if path.is_dir() else [path]
    config = read_hf_config(path)
    if config and 'model_type' in config:
        check_hf_config(config, variant, path / 'config.json')
    state = {}
    for f in files:
        state.update(read_tensors(f))
    state = hf_to_timm(state, variant.patch) if is_hf_layout(state) else open_clip_to_timm(state)
    return state, files


def guess_variants(state: dict) -> list:
    """Variant keys whose width, depth, patch and grid fit a timm-layout state dict (for error messages)."""
    try:
        width, n = state['pos_embed'].shape[-1], state['pos_embed'].shape[-2]
        patch = state['patch_embed.proj.weight'].shape[-1]
    except (KeyError, IndexError):
        return []
    depth = len({k.split('.')[1] for k in state if k.startswith('blocks.')})
    return [v.key for v in VARIANTS.values()
            if (v.width, v.depth, v.patch, v.grid) == (width, depth, patch, math.isqrt(n))]


def check_state(state: dict, expected: dict, where, variant: str) -> None:
    """Raise one CheckpointError listing the first missing / unexpected keys and shape mismatches."""
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f'{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}'
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if not (missing or unexpected or shapes):
        return
    parts = [f'{name} ({len(items)}): {", ".join(items[:4])}{", ..." if len(items) > 4 else ""}'
             for name, items in (('missing keys', missing), ('unexpected keys', unexpected),
                                 ('shape mismatches', shapes)) if items]
    guess = [g for g in guess_variants(state) if g != variant]
    hint = f'; it looks like {" / ".join(guess)}' if guess else ''
    raise CheckpointError(f'{where}: does not fit {variant}: {"; ".join(parts)}{hint}')


def load_weights(enc, weights, allow_download: bool | None = None) -> str:
    """Load a checkpoint into ``enc`` (a SiglipEncoder) in place; returns the sha256 of the weight file(s)."""
    if allow_download is None:
        allow_download = os.environ.get(ALLOW_DOWNLOAD_ENV, '') not in ('', '0')
    variant = enc.spec
    state, files = read_checkpoint(weights, variant, allow_download)
    expected = enc.vit.state_dict()
    check_state(state, expected, weights, enc.variant)
    broken = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise CheckpointError(f'{weights}: {len(broken)} tensor(s) hold NaN or inf (first: {broken[0]}); the '
                              'checkpoint is corrupt or was saved from a diverged run')
    enc.vit.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
    return sha256_files(files)
