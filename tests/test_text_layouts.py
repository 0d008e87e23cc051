"""Real-size layouts on the meta device (no memory, no weights): open_clip's own SigLIP 2 model definitions
(``open_clip.create_model``) give exactly our text tower's keys and shapes after conversion, for the B, L, So400m and
g-opt (So400m text tower, 1536-d head) configs; likewise transformers' SiglipTextModel at B and g-opt sizes."""
import pytest
import torch

from dense.text import build_text_encoder
from dense.text.convert import hf_text_to_ours, open_clip_text_to_ours


@pytest.mark.parametrize('name', ['ViT-B-16-SigLIP2', 'ViT-L-16-SigLIP2-256', 'ViT-SO400M-14-SigLIP2',
                                  'ViT-gopt-16-SigLIP2-256'])
def test_open_clip_definitions_match_our_layout(name):
    import open_clip
    with torch.device('meta'):
        model = open_clip.create_model(name, pretrained=None, device='meta')
    text = {k: v for k, v in model.state_dict().items() if k.startswith(('text.', 'logit_'))}
    ours = open_clip_text_to_ours(text)
    expected = build_text_encoder(name, device='meta').state_dict()
    assert set(ours) == set(expected)
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in expected.items()}


@pytest.mark.parametrize('name, dims', [
    ('siglip2-b16-224', dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12)),
    ('siglip2-gopt16-384', dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                                num_attention_heads=16, projection_size=1536))])
def test_transformers_definitions_match_our_layout(name, dims):
    from transformers import SiglipTextConfig, SiglipTextModel
    with torch.device('meta'):
        model = SiglipTextModel(SiglipTextConfig(vocab_size=256000, max_position_embeddings=64, **dims))
    state = {f'text_model.{k}': v for k, v in model.state_dict().items()}
    state.update({'logit_scale': torch.zeros(1, device='meta'), 'logit_bias': torch.zeros(1, device='meta')})
    ours = hf_text_to_ours(state)
    expected = build_text_encoder(name, device='meta').state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in expected.items()}
