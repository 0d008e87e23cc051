"""Checkpoint handling: one clear CheckpointError (a ValueError) per bad input, hub cache, weight hashes, NaFlex
sizing. Fixtures are written here in the real on-disk layouts (see test_encoders_parity for the writers)."""
import hashlib
import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from test_encoders_parity import big_vision_arrays, hf_fixed, hf_naflex
from transformers.models.siglip2.image_processing_siglip2 import get_image_size_for_max_num_patches

from dense.encoders import CheckpointError, build_encoder
from dense.encoders.convert import hf_to_timm
from dense.encoders.naflex import naflex_size


def _timm_file(path, image_size=64, drop=(), extra=None):
    state = {k: v.contiguous() for k, v in hf_to_timm(hf_fixed(image_size).state_dict(), 16).items()
             if k not in drop}
    save_file({**state, **(extra or {})}, path)
    return path


def _raises(weights, name='test', match=None):
    with pytest.raises(CheckpointError, match=match) as info:
        build_encoder(name, weights=weights)
    msg = str(info.value)
    assert '\n' not in msg and isinstance(info.value, ValueError)
    return msg


def test_wrong_variant_hf_config(tmp_path):
    hf_fixed().save_pretrained(tmp_path)
    msg = _raises(tmp_path, 'tiny', 'config.json does not match tiny')
    assert 'hidden_size=32 (variant 192)' in msg and str(tmp_path) in msg


def test_wrong_variant_shapes_name_file_keys_and_guess(tmp_path):
    f = _timm_file(tmp_path / 'ckpt.safetensors', image_size=96)
    msg = _raises(f, 'test', 'does not fit test')
    assert str(f) in msg and 'pos_embed: file (1, 36, 32) vs model (1, 16, 32)' in msg
    f2 = _timm_file(tmp_path / 'ckpt2.safetensors')
    assert 'it looks like test' in _raises(f2, 'tiny')


def test_missing_and_unexpected_keys(tmp_path):
    f = _timm_file(tmp_path / 'm.safetensors', drop=('norm.weight', 'attn_pool.latent'))
    assert 'missing keys (2): norm.weight, attn_pool.latent' in _raises(f)
    f = _timm_file(tmp_path / 'u.safetensors', extra={'visual.head.proj.weight': torch.zeros(2, 2),
                                                        'visual.trunk.norm.bias': torch.zeros(32)})
    assert 'unexpected keys (1): visual.head.proj.weight' in _raises(f)


def test_incomplete_qkv_is_reported(tmp_path):
    state = {k: v for k, v in hf_fixed().state_dict().items() if k != 'encoder.layers.1.self_attn.k_proj.weight'}
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / 'hf.safetensors')
    msg = _raises(tmp_path / 'hf.safetensors')
    assert 'missing keys (1): blocks.1.attn.qkv.weight' in msg
    assert 'encoder.layers.1.self_attn.q_proj.weight' in msg


@pytest.mark.parametrize('kind', ['safetensors', 'npz', 'bin'])
def test_truncated_or_corrupt_files(tmp_path, kind):
    if kind == 'safetensors':
        f = _timm_file(tmp_path / 'x.safetensors')
    elif kind == 'npz':
        f = tmp_path / 'x.npz'
        np.savez(f, **big_vision_arrays(hf_fixed().state_dict(), heads=2))
    else:
        f = tmp_path / 'pytorch_model.bin'
        torch.save(hf_fixed().state_dict(), f)
    data = f.read_bytes()
    f.write_bytes(data[:len(data) // 2])
    assert str(f) in _raises(f, match='truncated')
    f.write_bytes(b'\x00garbage' * 100)
    _raises(f, match='cannot read')


def test_missing_path_bad_npz_subtree_and_wrong_tower(tmp_path):
    _raises(tmp_path / 'nope.safetensors', match='no such file')
    _raises('ckpts/model.safetensors', match='no such file')  # a relative path, not a hub id
    tower = big_vision_arrays(hf_fixed().state_dict(), heads=2)
    np.savez(tmp_path / 'full.npz', **{f'params/img/{k}': v for k, v in tower.items()}, **{'params/t': np.zeros(1)})
    _raises(f'{tmp_path}/full.npz:txt', match="no image tower .* under subtree 'txt'")
    del tower['Transformer/encoder_norm/scale']
    np.savez(tmp_path / 'cut.npz', **tower)
    _raises(tmp_path / 'cut.npz', match="big_vision key 'Transformer/encoder_norm/scale' missing")
    naflex = big_vision_arrays(hf_naflex().state_dict(), heads=2)
    np.savez(tmp_path / 'naflex.npz', **naflex)
    _raises(tmp_path / 'naflex.npz', match='a NaFlex image tower, but test is fixed-resolution')


def test_naflex_vs_fixed_model_type_and_activation(tmp_path):
    hf_naflex().save_pretrained(tmp_path / 'nf')
    _raises(tmp_path / 'nf', 'test', "model_type 'siglip2_vision_model' but test needs siglip")
    hf_fixed().save_pretrained(tmp_path / 'fx')
    _raises(tmp_path / 'fx', 'test-naflex', 'needs siglip2')
    cfg = json.loads((tmp_path / 'fx' / 'config.json').read_text())
    (tmp_path / 'fx' / 'config.json').write_text(json.dumps({**cfg, 'hidden_act': 'gelu'}))
    _raises(tmp_path / 'fx', 'test', "hidden_act 'gelu'")
    (tmp_path / 'fx' / 'config.json').write_text('{"model_type": "siglip", ')
    _raises(tmp_path / 'fx', 'test', 'config.json: not valid JSON')


def _fake_hub_cache(root, repo_id, model):
    """A Hugging Face hub cache entry in its on-disk layout: refs/main -> snapshots/<commit>/files."""
    commit = '0123456789abcdef0123456789abcdef01234567'
    repo = root / f'models--{repo_id.replace("/", "--")}'
    (repo / 'refs').mkdir(parents=True)
    (repo / 'refs' / 'main').write_text(commit)
    model.save_pretrained(repo / 'snapshots' / commit)
    return repo / 'snapshots' / commit


def test_hub_id_offline_cache_and_sha(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_CACHE', str(tmp_path))
    monkeypatch.delenv('SPROBE_ALLOW_DOWNLOAD', raising=False)
    snap = _fake_hub_cache(tmp_path, 'someone/siglip2-test', hf_fixed())
    enc = build_encoder('test', weights='someone/siglip2-test')
    assert enc.weights_sha256 == hashlib.sha256((snap / 'model.safetensors').read_bytes()).hexdigest()
    msg = _raises('someone/not-cached', match='not in the local Hugging Face cache')
    assert 'allow_download=True' in msg


def test_allow_download_reaches_the_hub_client(tmp_path, monkeypatch):
    calls = []

    def fake_snapshot_download(repo_id, local_files_only, **kw):
        calls.append(local_files_only)
        raise OSError('offline')

    monkeypatch.setattr('huggingface_hub.snapshot_download', fake_snapshot_download)
    monkeypatch.setenv('SPROBE_ALLOW_DOWNLOAD', '1')
    _raises('someone/model', match='check the id and your network')
    monkeypatch.delenv('SPROBE_ALLOW_DOWNLOAD')
    with pytest.raises(CheckpointError):
        build_encoder('test', weights='someone/model', allow_download=True)
    _raises('someone/model', match='allow_download')
    assert calls == [False, False, True]


def test_weights_sha256_and_variant_recorded(tmp_path):
    f = _timm_file(tmp_path / 'w.safetensors')
    enc = build_encoder('test', weights=f)
    assert enc.weights_sha256 == hashlib.sha256(f.read_bytes()).hexdigest() and enc.variant == 'test'
    np.savez(tmp_path / 'w.npz', **big_vision_arrays(hf_fixed().state_dict(), heads=2))
    enc = build_encoder('test', weights=f'{tmp_path}/w.npz')
    assert enc.weights_sha256 == hashlib.sha256((tmp_path / 'w.npz').read_bytes()).hexdigest()
    assert build_encoder('test', seed=7).weights_sha256 == 'random-init-seed7'
    small = build_encoder('test', depth=2)
    assert small.depth == 2 and small.variant == 'test[depth=2]'


@pytest.mark.parametrize('hw', [(480, 640), (1000, 37), (37, 1000), (224, 224), (1, 1), (333, 777), (4000, 3000)])
@pytest.mark.parametrize('budget', [64, 256, 1024])
def test_naflex_size_matches_hf_processor(hw, budget):
    ours = naflex_size(*hw, 16, budget)
    assert ours == tuple(get_image_size_for_max_num_patches(*hw, patch_size=16, max_num_patches=budget))
    assert ours[0] % 16 == 0 and ours[1] % 16 == 0 and ours[0] * ours[1] <= budget * 256
    assert build_encoder('test-naflex').naflex_size(*hw, budget) == ours
