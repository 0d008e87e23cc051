"""Text-tower parity with the reference implementations, on random weights saved in every published layout.

References: transformers ``SiglipTextModel`` / ``Siglip2TextModel`` / ``SiglipModel`` / ``Siglip2Model`` (saved with
``save_pretrained``), open_clip ``TextTransformer`` (the SigLIP text tower of ``CustomTextCLIP``, saved as
``text.*`` safetensors), and big_vision's two-tower npz written here from the same weights (scanned and unrolled).
Tokens come from a sentencepiece model trained here (BPE, byte fallback, pad/eos/bos/unk = 0/1/2/3).
Measured max abs diffs (fp32, CPU, 2026-12-02): embeddings and token states 0 for the HF text-only dirs, big_vision npz
and the real-size B/16 tower, Siglip2Model text features 0 and logits 1.5e-8, SiglipModel logits on rendered scenes
6e-8, open_clip 2.1e-7 (as far as open_clip is from transformers itself); tolerance 1e-5 everywhere.
"""
import io
import json
from functools import partial

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn
from transformers.initialization import no_init_weights

from dense.encoders import build_encoder
from dense.text import build_text_encoder

TOL = 1e-5
V = 320  # pieces of the test tokenizer
pytestmark = pytest.mark.filterwarnings("ignore:.*were cut to 64")
TEXTS = ['a photo of a red sphere.', 'The LARGE Blue Cone left of the box', '', 'Ünïcödé ΟΔΟΣ 日本語 🙂 İx',
         'the small green cylinder behind the sphere ' * 12, '  two  spaces\tand a tab\n', 'cube 12345']
TOWER = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=2)  # the 'test' tower


def train_spm(vocab=V) -> bytes:
    """A small Gemma-like sentencepiece model: BPE, byte fallback, no dummy prefix, identity normalisation."""
    import sentencepiece as spm
    words = ['sphere', 'box', 'cube', 'cylinder', 'cone', 'capsule', 'ground', 'red', 'green', 'blue', 'small',
             'large', 'left', 'right', 'behind', 'front', 'photo', 'picture', 'cat', 'dog', 'person', 'table']
    sentences = [f'a photo of a {a} {b}.' for a in words for b in words] + [f'the {w} of the {w}' for w in words]
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=buffer, model_type='bpe', vocab_size=vocab,
        byte_fallback=True, pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece='<pad>', eos_piece='<eos>',
        bos_piece='<bos>', unk_piece='<unk>', add_dummy_prefix=False, normalization_rule_name='identity',
        remove_extra_whitespaces=False, split_digits=True, character_coverage=1.0, num_threads=1, minloglevel=2)
    return buffer.getvalue()


def write_tokenizer(folder, model: bytes) -> None:
    """``tokenizer.model`` + the config transformers needs to read it as SigLIP 2's tokenizer."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'tokenizer.model').write_bytes(model)
    (folder / 'tokenizer_config.json').write_text(json.dumps(dict(
        tokenizer_class='Siglip2Tokenizer', add_bos_token=False, add_eos_token=True, padding_side='right',
        model_max_length=64, pad_token='<pad>', eos_token='<eos>', bos_token='<bos>', unk_token='<unk>')))


@pytest.fixture(scope='module')
def spm_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp('tok')
    write_tokenizer(folder, train_spm())
    return folder


def hf_tokenize(folder, texts):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(folder, padding_side='right')
    return torch.tensor(tok(texts, padding='max_length', max_length=64, truncation=True)['input_ids'])


def text_config(vocab=V, **dims):
    return dict(vocab_size=vocab, max_position_embeddings=64, pad_token_id=0, eos_token_id=1, bos_token_id=2,
                **(dims or TOWER))


def randomize(model, seed=0):
    """Random values everywhere, LayerNorm scales around 1 (HF init leaves biases 0 and LayerNorms 1, which would
    hide mapping errors; skipping it saves seconds on the real-size tower)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05 + ('norm' in name and name.endswith('weight')))
    return model.eval()


def hf_text_model(kind='siglip', seed=0, vocab=V, **dims):
    from transformers import Siglip2TextConfig, Siglip2TextModel, SiglipTextConfig, SiglipTextModel
    cfg_cls, cls = (SiglipTextConfig, SiglipTextModel) if kind == 'siglip' else (Siglip2TextConfig, Siglip2TextModel)
    with no_init_weights():
        return randomize(cls(cfg_cls(**text_config(vocab, **dims))), seed)


def hf_full_model(kind='siglip', seed=0):
    from transformers import Siglip2Config, Siglip2Model, SiglipConfig, SiglipModel
    vision = dict(TOWER, patch_size=16)
    if kind == 'siglip':
        cfg, cls = SiglipConfig(text_config=text_config(), vision_config=dict(vision, image_size=64)), SiglipModel
    else:
        cfg, cls = Siglip2Config(text_config=text_config(), vision_config=dict(vision, num_patches=16)), Siglip2Model
    with no_init_weights():
        return randomize(cls(cfg), seed)


def max_diff(a, b) -> float:
    return float((a.float() - b.float()).abs().max())


def check_text(enc, ref_model, ids, texts=TEXTS):
    """Our embeddings and token states vs the HF text model's on the same ids; returns the max abs diffs."""
    with torch.no_grad():
        ref = ref_model(input_ids=ids)
    tokens, valid = enc.token_features(texts)
    d_emb, d_tok = max_diff(enc.encode_text(texts), ref.pooler_output), max_diff(tokens, ref.last_hidden_state)
    assert d_emb <= TOL and d_tok <= TOL, (d_emb, d_tok)
    assert torch.equal(valid, ids != 0)
    return d_emb, d_tok


@pytest.mark.parametrize('kind', ['siglip', 'siglip2'])
def test_hf_text_only_dir(tmp_path, spm_dir, kind):
    model = hf_text_model(kind)
    model.save_pretrained(tmp_path)
    write_tokenizer(tmp_path, (spm_dir / 'tokenizer.model').read_bytes())
    with pytest.warns(UserWarning, match='no logit_scale / logit_bias'):
        enc = build_text_encoder('test', weights=tmp_path, vocab=V)
    assert enc.tokenizer.path == tmp_path / 'tokenizer.model'
    ids = hf_tokenize(tmp_path, TEXTS)
    assert torch.equal(enc.tokenize(TEXTS), ids)
    check_text(enc, model, ids)


def test_hf_full_siglip_logits_on_scenes(tmp_path, spm_dir):
    """Zero-shot classification of scenes by shape words: our image + text towers give SiglipModel's logits."""
    from dense.scenes import CLASS_NAMES, render_scene
    model = hf_full_model('siglip')
    model.save_pretrained(tmp_path)
    write_tokenizer(tmp_path, (spm_dir / 'tokenizer.model').read_bytes())
    image_enc = build_encoder('test', weights=tmp_path)
    text_enc = build_text_encoder('test', weights=tmp_path, vocab=V)
    assert text_enc.weights_sha256 == image_enc.weights_sha256
    prompts = [f'a photo of a {name}.' for name in CLASS_NAMES[1:]]
    x01 = torch.stack([torch.from_numpy(render_scene(s, (64, 64)).image).permute(2, 0, 1) for s in range(3)]) / 255
    pixels = image_enc.normalize(x01.float())
    with torch.no_grad():
        ref = model(input_ids=hf_tokenize(tmp_path, prompts), pixel_values=pixels)
        ours = text_enc.logits(image_enc(pixels, layers=()).pooled, text_enc.encode_text(prompts))
    assert ours.shape == (3, len(prompts))
    assert max_diff(ours, ref.logits_per_image) <= TOL
    assert max_diff(text_enc.logit_bias, model.logit_bias) == 0


def test_hf_full_siglip2_naflex_dir(tmp_path, spm_dir):
    model = hf_full_model('siglip2')
    model.save_pretrained(tmp_path)
    write_tokenizer(tmp_path, (spm_dir / 'tokenizer.model').read_bytes())
    enc = build_text_encoder('test-naflex', weights=tmp_path, vocab=V)
    ids = hf_tokenize(tmp_path, TEXTS)
    with torch.no_grad():
        ref_text = model.get_text_features(input_ids=ids)
        ref_text = getattr(ref_text, 'pooler_output', ref_text)
        image = torch.randn(2, 32)
        ref_logits = model.logit_scale.exp() * (nn.functional.normalize(image, dim=-1)
                                                @ nn.functional.normalize(ref_text, dim=-1).T) + model.logit_bias
    assert max_diff(enc.encode_text(TEXTS), ref_text) <= TOL
    assert max_diff(enc.logits(image, enc.encode_text(TEXTS)), ref_logits) <= TOL


def big_vision_text(state: dict, heads: int, stacked: bool) -> dict:
    """HF ``text_model.*`` tensors in big_vision's two-tower layout (``txt/`` subtree, flax kernels), plus t, b."""
    s = {k.removeprefix('text_model.'): v.numpy() for k, v in state.items()}
    w = s['final_layer_norm.weight'].shape[0]
    hd = w // heads
    out = {'txt/Embed_0/embedding': s['embeddings.token_embedding.weight'],
           'txt/pos_embedding': s['embeddings.position_embedding.weight'][None],
           'txt/Encoder_0/encoder_norm/scale': s['final_layer_norm.weight'],
           'txt/Encoder_0/encoder_norm/bias': s['final_layer_norm.bias'],
           'txt/head/kernel': s['head.weight'].T, 'txt/head/bias': s['head.bias'],
           't': s['logit_scale'], 'b': s['logit_bias']}
    blocks = []
    for i in range(len({k.split('.')[2] for k in s if k.startswith('encoder.layers.')})):
        p, b = f'encoder.layers.{i}.', {}
        for j, n in enumerate(('layer_norm1', 'layer_norm2')):
            b[f'LayerNorm_{j}/scale'], b[f'LayerNorm_{j}/bias'] = s[p + n + '.weight'], s[p + n + '.bias']
        for name, src in (('query', 'q'), ('key', 'k'), ('value', 'v')):
            b[f'MultiHeadDotProductAttention_0/{name}/kernel'] = s[f'{p}self_attn.{src}_proj.weight'].T.reshape(
                w, heads, hd)
            b[f'MultiHeadDotProductAttention_0/{name}/bias'] = s[f'{p}self_attn.{src}_proj.bias'].reshape(heads, hd)
        b['MultiHeadDotProductAttention_0/out/kernel'] = s[p + 'self_attn.out_proj.weight'].T.reshape(heads, hd, w)
        b['MultiHeadDotProductAttention_0/out/bias'] = s[p + 'self_attn.out_proj.bias']
        for j in range(2):
            b[f'MlpBlock_0/Dense_{j}/kernel'] = s[f'{p}mlp.fc{j + 1}.weight'].T
            b[f'MlpBlock_0/Dense_{j}/bias'] = s[f'{p}mlp.fc{j + 1}.bias']
        blocks.append(b)
    if stacked:
        out.update({f'txt/Encoder_0/encoderblock/{k}': np.stack([b[k] for b in blocks]) for k in blocks[0]})
    else:
        out.update({f'txt/Encoder_0/encoderblock_{i}/{k}': v for i, b in enumerate(blocks) for k, v in b.items()})
    return {f'params/{k}': v for k, v in out.items()}


@pytest.mark.parametrize('stacked', [True, False])
def test_big_vision_npz(tmp_path, spm_dir, stacked):
    model = hf_full_model('siglip')
    state = {k: v for k, v in model.state_dict().items() if not k.startswith('vision_model.')}
    np.savez(tmp_path / 'siglip2.npz', **big_vision_text(state, heads=2, stacked=stacked),
             **{'params/img/embedding/kernel': np.zeros((16, 16, 3, 32), np.float32)})
    ids = hf_tokenize(spm_dir, TEXTS)
    for spec in ('siglip2.npz', 'siglip2.npz:txt'):
        enc = build_text_encoder('test', weights=tmp_path / spec, tokenizer=spm_dir, vocab=V)
        check_text(enc, model.text_model, ids)
        assert max_diff(enc.logit_scale, model.logit_scale) == 0 and max_diff(enc.logit_bias, model.logit_bias) == 0


def open_clip_tower(hf_model):
    """open_clip's SigLIP text tower (as ViT-*-SigLIP2 configure it) holding the HF model's weights."""
    from open_clip.transformer import LayerNorm, TextTransformer
    cfg = hf_model.config
    tower = TextTransformer(
        context_length=64, vocab_size=cfg.vocab_size, width=cfg.hidden_size, heads=cfg.num_attention_heads,
        layers=cfg.num_hidden_layers, mlp_ratio=cfg.intermediate_size / cfg.hidden_size, output_dim=cfg.projection_size,
        no_causal_mask=True, pad_id=0, pool_type='last', proj_bias=True,
        act_layer=partial(nn.GELU, approximate='tanh'), norm_layer=partial(LayerNorm, eps=1e-6)).eval()
    s = hf_model.state_dict()
    mapped = {'token_embedding.weight': s['embeddings.token_embedding.weight'],
              'positional_embedding': s['embeddings.position_embedding.weight'],
              'ln_final.weight': s['final_layer_norm.weight'], 'ln_final.bias': s['final_layer_norm.bias'],
              'text_projection.weight': s['head.weight'], 'text_projection.bias': s['head.bias']}
    for i in range(cfg.num_hidden_layers):
        p, q = f'encoder.layers.{i}.', f'transformer.resblocks.{i}.'
        for kind in ('weight', 'bias'):
            mapped[f'{q}attn.in_proj_{kind}'] = torch.cat([s[f'{p}self_attn.{n}_proj.{kind}'] for n in 'qkv'])
            for a, b in (('ln_1', 'layer_norm1'), ('ln_2', 'layer_norm2'), ('attn.out_proj', 'self_attn.out_proj'),
                         ('mlp.c_fc', 'mlp.fc1'), ('mlp.c_proj', 'mlp.fc2')):
                mapped[f'{q}{a}.{kind}'] = s[f'{p}{b}.{kind}']
    tower.load_state_dict(mapped, strict=True)
    return tower


def test_open_clip_safetensors(tmp_path, spm_dir):
    model = hf_text_model('siglip', seed=3)
    tower = open_clip_tower(model)
    ids = hf_tokenize(spm_dir, TEXTS)
    with torch.no_grad():
        ref = tower(ids)
        assert max_diff(ref, model(input_ids=ids).pooler_output) <= TOL  # the two references agree
    state = {f'text.{k}': v.contiguous() for k, v in tower.state_dict().items()}
    state.update(logit_scale=torch.tensor(2.3), logit_bias=torch.tensor(-9.5))
    save_file(state, tmp_path / 'open_clip_model.safetensors')
    (tmp_path / 'tokenizer.model').write_bytes((spm_dir / 'tokenizer.model').read_bytes())
    enc = build_text_encoder('test', weights=tmp_path / 'open_clip_model.safetensors', vocab=V)
    assert max_diff(enc.encode_text(TEXTS), ref) <= TOL
    assert float(enc.logit_scale) == pytest.approx(2.3) and float(enc.logit_bias) == pytest.approx(-9.5)


@pytest.mark.slow
def test_real_size_b16_text_tower(tmp_path, spm_dir):
    """The B/16 text tower at its real width, depth, heads and MLP (vocabulary cut to the test tokenizer's)."""
    model = hf_text_model('siglip', vocab=V, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                          num_attention_heads=12)
    model.save_pretrained(tmp_path)
    write_tokenizer(tmp_path, (spm_dir / 'tokenizer.model').read_bytes())
    with pytest.warns(UserWarning):
        enc = build_text_encoder('siglip2-b16-224', weights=tmp_path, vocab=V)
    assert (enc.spec.width, enc.spec.depth, enc.embed_dim) == (768, 12, 768)
    check_text(enc, model, hf_tokenize(tmp_path, TEXTS[:2]), TEXTS[:2])
