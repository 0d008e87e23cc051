"""Contract tests over every registered head: shapes, finite values, gradients, inputs untouched, errors."""
import pytest
import torch

from probes.heads import HEADS, DPTHead, LinearHead, build_head

SMALL_OPTS = {'dpt': dict(hidden_dim=8, reassemble_dims=(4, 4, 8, 8)), 'probe3d_dpt': dict(hidden_dim=4)}
FOUR_LAYERS = ('dpt', 'probe3d_dpt')
GRIDS = [(4, 4), (7, 5)]
# heads returning per-pixel maps (box heads such as 'owl' have their own contract tests)
DENSE_HEADS = sorted(k for k, head in HEADS.items() if getattr(head, 'dense', True))


def _inputs(num_layers, dims, grid, pooled_dim=0):
    feats = [torch.randn(2, d, *grid) for d in dims[:num_layers]]
    pooled = torch.randn(2, pooled_dim) if pooled_dim else None
    return feats, pooled


def _num_layers(kind):
    return 4 if kind in FOUR_LAYERS else 2


@pytest.mark.parametrize('kind', DENSE_HEADS)
@pytest.mark.parametrize('grid', GRIDS)
@pytest.mark.parametrize('pooled_dim', [0, 6])
def test_head_contract(kind, grid, pooled_dim):
    dims = [12, 12, 16, 16] if kind in FOUR_LAYERS else [12, 16]
    head = build_head(kind, dims, 5, pooled_dim=pooled_dim, **SMALL_OPTS.get(kind, {}))
    feats, pooled = _inputs(_num_layers(kind), dims, grid, pooled_dim)
    copies = [f.clone() for f in feats]
    pooled_copy = None if pooled is None else pooled.clone()
    out = head(feats, pooled)
    assert out.shape[:2] == (2, 5)
    assert out.shape[2] >= grid[0] and out.shape[3] >= grid[1]
    assert torch.isfinite(out).all()
    for f, c in zip(feats, copies):
        assert torch.equal(f, c), 'head modified its input features'
    if pooled is not None:
        assert torch.equal(pooled, pooled_copy)
    out.square().mean().backward()
    grads = [p.grad for p in head.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_linear_head_is_one_linear_map_on_concatenated_features():
    head = LinearHead([3, 2], 4, pooled_dim=2)
    feats = [torch.randn(1, 3, 2, 2), torch.randn(1, 2, 2, 2)]
    pooled = torch.randn(1, 2)
    out = head(feats, pooled)
    weight = head.classifier.weight[:, :, 0, 0]
    for y in range(2):
        for x in range(2):
            vec = torch.cat([feats[0][0, :, y, x], feats[1][0, :, y, x], pooled[0]])
            expected = weight @ vec + head.classifier.bias
            assert torch.allclose(out[0, :, y, x], expected, atol=1e-6)


def test_pooled_embedding_changes_linear_output():
    head = LinearHead([4], 3, pooled_dim=4)
    feats = [torch.randn(1, 4, 2, 2)]
    a, b = head(feats, torch.zeros(1, 4)), head(feats, torch.ones(1, 4))
    assert not torch.allclose(a, b)


def test_dpt_output_is_eight_times_the_grid():
    head = DPTHead([8] * 4, 3, hidden_dim=8, reassemble_dims=(4, 4, 8, 8))
    out = head([torch.randn(1, 8, 4, 4) for _ in range(4)])
    assert out.shape == (1, 3, 32, 32)


@pytest.mark.parametrize('kind', DENSE_HEADS)
def test_head_errors(kind):
    dims = [8, 8, 8, 8] if kind in FOUR_LAYERS else [8]
    head = build_head(kind, dims, 3, pooled_dim=4, **SMALL_OPTS.get(kind, {}))
    feats = [torch.randn(1, 8, 4, 4) for _ in dims]
    with pytest.raises(ValueError, match='pooled'):
        head(feats)
    with pytest.raises(ValueError, match='feature maps'):
        head(feats + feats, torch.randn(1, 4))
    with pytest.raises(ValueError, match='channels'):
        head([torch.randn(1, 5, 4, 4) for _ in dims], torch.randn(1, 4))


def test_unknown_head_kind_lists_known():
    with pytest.raises(KeyError, match='linear'):
        build_head('nope', [4], 2)


def test_dpt_rejects_wrong_layer_count():
    with pytest.raises(ValueError, match='one reassemble dim'):
        DPTHead([8, 8], 3)
