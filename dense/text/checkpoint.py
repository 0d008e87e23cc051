"""Reading SigLIP 2 text towers from the checkpoints the image loader reads (:mod:`dense.encoders.checkpoint`).

Accepted ``weights``: a transformers directory or hub id of a full ``SiglipModel`` (fixed resolution) or
``Siglip2Model`` (NaFlex), or of a ``SiglipTextModel`` / ``Siglip2TextModel`` alone; an open_clip ``.safetensors``
(or ``.bin``); our own layout (``TextEncoder.state_dict()`` saved as ``.safetensors``); a big_vision two-tower
``.npz`` (the ``txt`` subtree, or ``file.npz:txt``). The tokenizer is looked for next to the weights
(``tokenizer.model`` / ``tokenizer.json`` in the directory). One :class:`CheckpointError` for a wrong, truncated or
image-only file.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from dense.encoders.checkpoint import (ALLOW_DOWNLOAD_ENV, CheckpointError, check_state, hf_dir_files, locate,
                                       read_hf_config, read_npz, read_tensors, why)
from dense.io import sha256_files

from .convert import LOGIT_KEYS, big_vision_text_to_ours, has_text_tower, hf_text_to_ours, open_clip_text_to_ours
from .tokenizer import find_tokenizer_file
from .variants import TextVariant

TOKENIZER_PATTERNS = ('tokenizer.model', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json')
_VISION_PREFIXES = ('vision_model.', 'model.vision_model.', 'visual.')
_NO_TEXT = ('holds no text tower; pass a full image-text checkpoint (HF SiglipModel / Siglip2Model, open_clip '
            'SigLIP, big_vision two-tower npz) or a text-only one as the text weights')


def _text_key(key: str) -> bool:
    return not key.startswith(_VISION_PREFIXES)


def check_text_config(config: dict, spec: TextVariant, where) -> None:
    """Raise if a transformers config has no text tower or one of other dims than ``spec``."""
    mtype = config.get('model_type', '')
    if mtype.endswith('vision_model'):
        raise CheckpointError(f'{where}: model_type {mtype!r} {_NO_TEXT}')
    tc = config.get('text_config') or (config if mtype.endswith('text_model') else None)
    if mtype in ('siglip', 'siglip2') and tc is None:
        raise CheckpointError(f'{where}: no text_config; {_NO_TEXT}')
    if tc is None:
        return
    want = {'hidden_size': spec.width, 'num_hidden_layers': spec.depth, 'num_attention_heads': spec.heads,
            'intermediate_size': spec.mlp, 'vocab_size': spec.vocab, 'max_position_embeddings': spec.context,
            'projection_size': spec.embed_dim}
    bad = [f'{k}={tc[k]} (variant {v})' for k, v in want.items() if tc.get(k) not in (None, v)]
    if bad:
        raise CheckpointError(f'{where}: text_config does not match the {spec.key} text tower: {", ".join(bad)}; '
                              'pick the variant the checkpoint was trained as')
    act = tc.get('hidden_act', 'gelu_pytorch_tanh')
    if act not in ('gelu_pytorch_tanh', 'gelu_tanh', 'gelu_new'):
        raise CheckpointError(f'{where}: text hidden_act {act!r}; SigLIP 2 uses tanh-GELU and so does this tower')


def read_text_config(weights, allow_download: bool | None = None) -> dict | None:
    """The text config of a transformers checkpoint (``text_config``, or a text-model config), else None."""
    if allow_download is None:
        allow_download = os.environ.get(ALLOW_DOWNLOAD_ENV, '') not in ('', '0')
    path, npz = locate(weights, allow_download, TOKENIZER_PATTERNS)
    config = None if npz is not None else read_hf_config(path)
    if not config:
        return None
    return config.get('text_config') or (config if config.get('model_type', '').endswith('text_model') else None)


def _read_big_vision(path: Path, subtree: str) -> dict:
    arrays = read_npz(path)
    subtree = subtree or 'txt'
    text = {k[len(subtree) + 1:]: v for k, v in arrays.items() if k.startswith(subtree + '/')}
    if not has_text_tower(text):
        raise CheckpointError(f"{path}: no text tower under params/{subtree}/ (Embed_0/embedding); the file "
                              f"{_NO_TEXT}")
    try:
        return big_vision_text_to_ours(text, arrays.get('t'), arrays.get('b'))
    except KeyError as e:
        raise CheckpointError(f'{path}: big_vision key {subtree}/{e.args[0]} missing; the file is not a complete '
                              'SigLIP 2 text tower') from e


def read_text_checkpoint(weights, spec: TextVariant, allow_download: bool = False) -> tuple:
    """Read any supported checkpoint's text tower into our layout.

    Returns:
        (state dict, list of weight files read, folder to look for the tokenizer in).
    """
    path, npz = locate(weights, allow_download, TOKENIZER_PATTERNS)
    folder = path if path.is_dir() else path.parent
    if npz is not None:
        return _read_big_vision(path, npz), [path], folder
    config = read_hf_config(path)
    if config is not None:
        check_text_config(config, spec, path / 'config.json')
    files = hf_dir_files(path) if path.is_dir() else [path]
    state = {}
    for f in files:
        state.update(read_tensors(f, keep=_text_key))
    if not has_text_tower(state):
        raise CheckpointError(f'{path}: {_NO_TEXT}')
    if 'token_embed.weight' in state:  # ours (TextEncoder.state_dict() saved as safetensors)
        return state, files, folder
    if any(k.startswith('text.') for k in state):
        return open_clip_text_to_ours(state), files, folder
    return hf_text_to_ours(state), files, folder


def load_text_weights(enc, weights, allow_download: bool | None = None) -> tuple:
    """Load a checkpoint's text tower into ``enc`` (a TextEncoder) in place.

    A text-only checkpoint without ``logit_scale`` / ``logit_bias`` keeps the initial values (with a warning).

    Returns:
        (sha256 of the weight file(s), folder holding a tokenizer file or None).
    """
    if allow_download is None:
        allow_download = os.environ.get(ALLOW_DOWNLOAD_ENV, '') not in ('', '0')
    state, files, folder = read_text_checkpoint(weights, enc.spec, allow_download)
    expected = enc.state_dict()
    missing_logits = [k for k in LOGIT_KEYS if k not in state]
    if missing_logits:
        warnings.warn(f'{weights}: no {" / ".join(missing_logits)} (a text-only checkpoint); logits use the initial '
                      't = log 10, b = -10', stacklevel=3)
        state.update({k: expected[k] for k in missing_logits})
    check_state(state, expected, weights, f'the {enc.variant} text tower')
    try:
        enc.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f'{weights}: {why(e)}') from e
    return sha256_files(files), folder if find_tokenizer_file(folder) else None
