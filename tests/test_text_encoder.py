"""Text-tower contract (docs/CONTRACTS.md "Text tower"), variant table, class-name embeddings and their cache,
trainability, and one clear error per bad input (class lists, templates, checkpoints without a text tower)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from test_text_parity import hf_full_model, hf_text_model, write_tokenizer, train_spm

from dense.encoders import VARIANTS, CheckpointError
from dense.text import (IMAGENET_TEMPLATES, SHORT_TEMPLATES, build_text_encoder, get_text_variant, siglip_logits)


@pytest.fixture(scope='module')
def enc():
    return build_text_encoder('test')


def test_contract(enc):
    assert enc.embed_dim == 32 and enc.weights_sha256 == 'random-init-seed0'
    assert not enc.training and not any(p.requires_grad for p in enc.parameters())
    ids = enc.tokenize(['a red sphere', ''])
    assert ids.dtype == torch.int64 and ids.shape == (2, 64)
    emb = enc.encode_text(['a red sphere', ''])
    assert emb.dtype == torch.float32 and emb.shape == (2, 32) and torch.isfinite(emb).all()
    tokens, valid = enc.token_features(['a red sphere', ''])
    assert tokens.shape == (2, 64, 32) and valid.dtype == torch.bool
    assert valid[1].tolist() == [True] + [False] * 63 and valid[0].sum() == (ids[0] != 0).sum()
    assert enc.logit_scale.shape == enc.logit_bias.shape == (1,)
    assert enc.encode_text([]).shape == (0, 32)
    other = build_text_encoder('test', seed=1)
    assert other.weights_sha256 == 'random-init-seed1' and not torch.equal(other.encode_text(['x']),
                                                                            enc.encode_text(['x']))


def test_variant_table():
    siglip2 = {k: v for k, v in VARIANTS.items()
               if v.hf_id.startswith('google/siglip2') or k.startswith(('tiny', 'test'))}
    assert len(siglip2) >= 20
    for key, image in siglip2.items():
        text = get_text_variant(key)
        assert text.embed_dim == image.width and text.context == 64
        for alias in image.aliases():
            assert get_text_variant(alias) == text
    dims = {k: (t.width, t.depth, t.heads, t.mlp, t.vocab) for k in ('siglip2-b16-224', 'siglip2-l16-256',
            'siglip2-so400m14-224', 'siglip2-gopt16-256', 'tiny', 'test') for t in [get_text_variant(k)]}
    assert dims == {'siglip2-b16-224': (768, 12, 12, 3072, 256000), 'siglip2-l16-256': (1024, 24, 16, 4096, 256000),
                    'siglip2-so400m14-224': (1152, 27, 16, 4304, 256000),
                    'siglip2-gopt16-256': (1152, 27, 16, 4304, 256000),  # g-opt pairs with the So400m text tower
                    'tiny': (192, 8, 3, 768, 1024), 'test': (32, 4, 2, 64, 1024)}
    assert get_text_variant('google/siglip2-giant-opt-patch16-384').embed_dim == 1536
    # random-init 'scenes' (the ranking's and zero-shot's chance reference) pairs with a random tower of its size
    assert (lambda t: (t.width, t.depth, t.vocab, t.shipped_tokenizer))(get_text_variant('scenes')) == (128, 6, 1024,
                                                                                                         True)
    assert get_text_variant('ViT-SO400M-14-SigLIP2') == get_text_variant('siglip2-so400m14-224')
    meta = build_text_encoder('siglip2-so400m16-naflex', device='meta')
    assert meta.blocks[0].mlp.fc1.out_features == 4304 and meta.head.out_features == 1152
    with pytest.raises(KeyError, match='unknown SigLIP 2 variant'):
        get_text_variant('siglip3')


def test_logits_formula():
    image, text = torch.randn(3, 8), torch.randn(5, 8)
    t, b = torch.tensor([2.0]), torch.tensor([-3.0])
    expected = np.exp(2.0) * (F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).T) - 3.0
    assert torch.allclose(siglip_logits(image, text, t, b), expected, atol=1e-6)


def test_class_embeddings_average_and_cache(enc):
    names = ['sphere', 'box', 'large cone']
    out = enc.class_embeddings(names, 'short')
    assert out.shape == (3, 32) and torch.allclose(out.norm(dim=-1), torch.ones(3))
    per_prompt = F.normalize(enc.encode_text([t.format(n) for n in names for t in SHORT_TEMPLATES]), dim=-1)
    expected = F.normalize(per_prompt.view(3, len(SHORT_TEMPLATES), -1).mean(1), dim=-1)
    assert torch.allclose(out, expected, atol=1e-6)
    calls = []
    hook = enc.register_forward_hook(lambda *a: calls.append(1))
    again = enc.class_embeddings(names, SHORT_TEMPLATES)
    assert not calls and torch.equal(again, out)  # cached (by template content, not name)
    again.zero_()
    assert torch.equal(enc.class_embeddings(names, 'short'), out)  # callers cannot spoil the cache
    assert enc.class_embeddings(names[:2], 'short').shape == (2, 32) and calls  # another vocabulary: computed
    hook.remove()
    assert len(IMAGENET_TEMPLATES) == 80 and enc.class_embeddings(['box'], 'imagenet80').shape == (1, 32)
    with torch.no_grad():
        enc.head.bias.add_(1.0)  # an in-place weight update empties the cache
    try:
        assert not torch.allclose(enc.class_embeddings(names, 'short'), out)
    finally:
        with torch.no_grad():
            enc.head.bias.sub_(1.0)


def test_trainable_when_asked():
    enc = build_text_encoder('test').requires_grad_(True).train()
    assert enc.training
    enc.class_embeddings(['sphere', 'box'], 'plain').sum().backward()
    assert enc.blocks[0].attn.qkv.weight.grad is not None and enc.token_embed.weight.grad.abs().sum() > 0
    assert not enc._cache


@pytest.mark.parametrize('names, match', [([], 'empty class-name list'), (['box', 'Box'], 'duplicate class names'),
                                          (['box', ''], 'non-empty strings'), ('box', 'list of strings')])
def test_bad_class_names(enc, names, match):
    with pytest.raises(ValueError, match=match):
        enc.class_embeddings(names)


def test_bad_templates(enc):
    with pytest.raises(ValueError, match="exactly one '{}'"):
        enc.class_embeddings(['box'], ['a photo'])
    with pytest.raises(KeyError, match='unknown template set'):
        enc.class_embeddings(['box'], 'imagenet81')
    with pytest.raises(ValueError, match='empty template list'):
        enc.class_embeddings(['box'], [])


def _raises(weights, match, name='test'):
    with pytest.raises(CheckpointError, match=match) as info:
        build_text_encoder(name, weights=weights, vocab=320)
    assert '\n' not in str(info.value)
    return str(info.value)


def test_checkpoints_without_a_text_tower(tmp_path):
    from transformers import SiglipVisionConfig, SiglipVisionModel
    SiglipVisionModel(SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                         num_attention_heads=2, image_size=64)).save_pretrained(tmp_path / 'hf')
    assert 'holds no text tower' in _raises(tmp_path / 'hf', 'no text tower')
    full = hf_full_model('siglip')
    vision = {k: v.contiguous() for k, v in full.state_dict().items() if k.startswith('vision_model.')}
    save_file(vision, tmp_path / 'vision.safetensors')
    _raises(tmp_path / 'vision.safetensors', 'holds no text tower')
    save_file({f'visual.trunk.{k}': v for k, v in vision.items()}, tmp_path / 'open_clip.safetensors')
    _raises(tmp_path / 'open_clip.safetensors', 'holds no text tower')
    np.savez(tmp_path / 'img.npz', **{'params/img/embedding/kernel': np.zeros((16, 16, 3, 32), np.float32)})
    assert 'params/txt/' in _raises(tmp_path / 'img.npz', 'no text tower')
    assert 'params/img/' in _raises(f'{tmp_path / "img.npz"}:img', 'no text tower')


@pytest.mark.filterwarnings('ignore:.*text-only checkpoint')
def test_wrong_or_truncated_checkpoints(tmp_path):
    model = hf_text_model('siglip')
    model.save_pretrained(tmp_path / 'hf')
    assert 'hidden_size=32 (variant 192)' in _raises(tmp_path / 'hf', 'does not match the tiny', name='tiny')
    state = {f'text_model.{k}': v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, tmp_path / 'model.safetensors')
    data = (tmp_path / 'model.safetensors').read_bytes()
    (tmp_path / 'model.safetensors').write_bytes(data[:len(data) // 2])
    _raises(tmp_path / 'model.safetensors', 'truncated')
    (tmp_path / 'x.npz').write_bytes(b'\x00garbage' * 10)
    _raises(tmp_path / 'x.npz', 'cannot read npz')
    del state['text_model.final_layer_norm.weight']
    save_file(state, tmp_path / 'partial.safetensors')
    assert 'missing keys (1): norm.weight' in _raises(tmp_path / 'partial.safetensors', 'does not fit')
    _raises(tmp_path / 'nowhere.safetensors', 'no such file')
    assert 'SPROBE_ALLOW_DOWNLOAD' in _raises('google/siglip2-not-a-model', 'not in the local Hugging Face cache')


def test_runner_builds_the_text_tower_from_config(tmp_path):
    from probes.train.runner import build_text_encoder_from_config
    model = hf_text_model('siglip')
    model.save_pretrained(tmp_path)
    write_tokenizer(tmp_path, train_spm())
    cfg = dict(encoder=dict(name='test'), text_encoder=dict(name='test', weights=str(tmp_path), vocab=320))
    from mmengine.config import Config
    with pytest.warns(UserWarning, match='text-only checkpoint'):
        text = build_text_encoder_from_config(Config(cfg))
    assert text.tokenizer.path == tmp_path / 'tokenizer.model' and text.weights_sha256 != 'random-init-seed0'
    assert build_text_encoder_from_config(Config(dict(encoder=dict(name='test', seed=2)))).weights_sha256 == \
        'random-init-seed2'


def test_own_layout_round_trip(tmp_path):
    """A trained tower saved as its state dict (what the scene-trained reference encoders ship) loads back."""
    enc = build_text_encoder('test', seed=4)
    save_file({k: v.contiguous() for k, v in enc.state_dict().items()}, tmp_path / 'text.safetensors')
    back = build_text_encoder('test', weights=tmp_path / 'text.safetensors')
    assert torch.equal(back.encode_text(['a red box']), enc.encode_text(['a red box']))
    assert back.weights_sha256 not in ('', 'random-init-seed0')


def test_templates_are_clips():
    from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES, SIMPLE_IMAGENET_TEMPLATES
    assert IMAGENET_TEMPLATES == tuple(t('{}') for t in OPENAI_IMAGENET_TEMPLATES)
    assert SHORT_TEMPLATES == tuple(t('{}') for t in SIMPLE_IMAGENET_TEMPLATES)


def test_tower_outside_the_table_sized_from_its_config(tmp_path):
    """A scene-trained SiglipModel directory under a name the variant table has no text tower for."""
    from transformers import SiglipConfig, SiglipModel
    cfg = SiglipConfig(text_config=dict(vocab_size=1024, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                                        num_attention_heads=3, projection_size=32, pad_token_id=0, eos_token_id=1,
                                        bos_token_id=2, max_position_embeddings=16),  # 16 tokens, like SigLIP So/14
                       vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=2, image_size=64, patch_size=16))
    model = SiglipModel(cfg).eval()
    model.save_pretrained(tmp_path)
    enc = build_text_encoder('scenes-trained', weights=tmp_path)
    assert (enc.spec.width, enc.spec.depth, enc.embed_dim, enc.spec.vocab, enc.context) == (48, 2, 32, 1024, 16)
    assert enc.tokenizer is not None  # the shipped model: same vocabulary size
    ids = enc.tokenize(['a red sphere'])
    assert ids.shape == (1, 16) and ids[0, 3] == 1 and ids[0, -1] == 0
    with torch.no_grad():
        ref = model.get_text_features(input_ids=ids)
    ref = getattr(ref, 'pooler_output', ref)
    assert torch.allclose(enc.encode_text(['a red sphere']), ref, atol=1e-5)
    with pytest.raises(KeyError, match='unknown SigLIP 2 variant'):
        build_text_encoder('scenes-trained')


def test_shipped_variant_loads_its_text_tower(tmp_path, monkeypatch):
    """``scenes-sigmoid`` (a shipped scene-trained encoder) gets the text tower of its verified directory."""
    import dense.text.build as build
    from transformers import SiglipConfig, SiglipModel
    cfg = SiglipConfig(text_config=dict(vocab_size=1024, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                        num_attention_heads=2, projection_size=128, max_position_embeddings=16),
                       vision_config=dict(hidden_size=128, intermediate_size=512, num_hidden_layers=6,
                                          num_attention_heads=2, image_size=64, patch_size=8))
    SiglipModel(cfg).save_pretrained(tmp_path)
    asked = []
    monkeypatch.setattr(build, 'shipped_dir', lambda name: asked.append(name) or tmp_path)
    enc = build_text_encoder('scenes-sigmoid')
    assert asked == ['scenes-sigmoid'] and enc.embed_dim == 128 and enc.context == 16
    assert enc.weights_sha256 not in ('', 'random-init-seed0')
    rand = build_text_encoder('scenes')  # the random-init architecture: a random tower of its size (chance level)
    assert rand.weights_sha256.startswith('random-init') and rand.embed_dim == 128
