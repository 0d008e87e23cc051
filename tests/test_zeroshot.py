"""Zero-shot segmentation: each method's patch scores against an independent computation written here, the SCLIP
protocol pieces (windows, resize, class / background decision), a smoke run per data-set layout from fixtures, the
configs, and clear errors for bad input."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from safetensors.torch import save_file

from dense.encoders import CheckpointError, build_encoder
from dense.text import build_text_encoder
from probes.evaluations import run_evaluation
from probes.zeroshot.benchmarks import class_queries, get_benchmark
from probes.zeroshot.evaluation import ZeroShotSegmentation, predict_classes, resize_short_side, windows
from probes.zeroshot.methods import METHODS, last_block, text_aligned_patches, value_path

pytestmark = pytest.mark.filterwarnings('ignore:.*MultiScaleDeformableAttention')


def _ln(x, mod):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + mod.eps) * mod.weight.double() + mod.bias.double()


def _lin(x, mod, rows=slice(None)):
    return x @ mod.weight.double()[rows].T + mod.bias.double()[rows]


def _gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _mlp(x, mlp):
    return _lin(_gelu_tanh(_lin(x, mlp.fc1)), mlp.fc2)


def reference_scores(enc, block_input, last_output, classes, grid, std=5.0):
    """Per-method cosine scores ``(L, 2)``, float64, head by head and pair by pair (no code shared with
    probes.zeroshot): SCLIP / ClearCLIP / NACLIP last blocks as their papers' code computes them, MaskCLIP-style
    value path through the MAP head."""
    vit = enc.vit
    blk, pool = vit.blocks[-1], vit.attn_pool
    x = block_input[0].double()
    n, width = x.shape
    heads, hd = blk.attn.num_heads, width // blk.attn.num_heads
    qkv = _lin(_ln(x, blk.norm1), blk.attn.qkv)
    pos = [(i // grid[1], i % grid[1]) for i in range(n)]
    omega = torch.tensor([[math.exp(-((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) / (2 * std ** 2)) for b in pos]
                          for a in pos], dtype=torch.float64)

    def attend(kind):
        outs = []
        for h in range(heads):
            q, k, v = (qkv[:, j * width + h * hd: j * width + (h + 1) * hd] for j in range(3))
            s = hd ** -0.5
            if kind == 'sclip':
                w = torch.softmax(q @ q.T * s, 1) + torch.softmax(k @ k.T * s, 1)
            elif kind == 'clearclip':
                w = torch.softmax(q @ q.T * s, 1)
            else:
                w = torch.softmax(k @ k.T * s + omega, 1)
            outs.append(w @ v)
        return _lin(torch.cat(outs, 1), blk.attn.proj)

    sclip_x = x + attend('sclip')
    outputs = {'maskclip': last_output[0].double(), 'sclip': sclip_x + _mlp(_ln(sclip_x, blk.norm2), blk.mlp),
               'clearclip': attend('clearclip'), 'naclip': attend('naclip')}
    scores = {}
    for method, out in outputs.items():
        y = _lin(_lin(_ln(out, vit.norm), pool.kv, slice(width, None)), pool.proj)
        emb = y + _mlp(_ln(y, pool.norm), pool.mlp)
        scores[method] = F.normalize(emb, dim=1) @ F.normalize(classes.double(), dim=1).T
    return scores


def test_methods_match_an_independent_computation():
    """A hand-made two-class example: random 64 x 48 image, classes 'sphere' and 'box'."""
    enc = build_encoder('test')
    text = build_text_encoder('test')
    classes = text.class_embeddings(['sphere', 'box'], 'plain')
    pixels = enc.normalize(torch.rand(1, 3, 64, 48))
    captured = {}
    hook = enc.vit.blocks[-1].register_forward_hook(lambda m, args, out: captured.update(x=args[0], out=out))
    with torch.no_grad():
        ours = text_aligned_patches(enc, pixels)
    hook.remove()
    ref = reference_scores(enc, captured['x'], captured['out'], classes, grid=(4, 3))
    for method in METHODS:
        emb = ours[method][0].flatten(1).T  # (L, D), raster order
        score = F.normalize(emb, dim=1) @ classes.T
        assert score.shape == (12, 2)
        assert torch.allclose(score.double(), ref[method], atol=1e-5), method
    assert not torch.allclose(ref['sclip'], ref['naclip'], atol=1e-3)  # the methods do differ


def test_decomposition_reproduces_the_encoder():
    """The last block re-run with its own attention gives the encoder's tokens; the value path of a single token
    is the MAP head's output (attention over one key is identity)."""
    enc = build_encoder('test')
    pixels = enc.normalize(torch.rand(2, 3, 64, 64))
    with torch.no_grad():
        out = enc(pixels, layers=(enc.depth - 2,))
        x = out.layers[enc.depth - 2].flatten(2).transpose(1, 2)
        again = enc.vit.norm(last_block(enc.vit.blocks[-1], x, 'vanilla', (4, 4)))
        assert torch.allclose(again, out.tokens, atol=1e-5)
        one = out.tokens[:, :1]
        assert torch.allclose(value_path(enc.vit.attn_pool, one)[:, 0], enc.vit.attn_pool(one), atol=1e-5)


def test_protocol_pieces():
    boxes = windows(336, 500, (224, 224), (112, 112))  # SCLIP forward_slide: 2 rows x 4 columns
    assert len(boxes) == 8 and boxes[-1] == (112, 336, 276, 500) and boxes[0] == (0, 224, 0, 224)
    assert windows(48, 64, (224, 224), (112, 112)) == [(0, 48, 0, 64)]  # smaller than a window: the image
    assert resize_short_side(torch.rand(3, 48, 64), 336).shape == (3, 336, 448)  # mmseg Resize((2048, 336))
    assert resize_short_side(torch.rand(3, 10, 3000), 336).shape == (3, 7, 2048)  # long side capped
    # queries: class 0 (background) has one, class 1 two synonyms; softmax at scale 10 over the three queries
    cos = torch.tensor([[0.9, 0.1, 0.2], [0.1, 0.8, 0.2], [0.1, 0.2, 0.9], [0.3, 0.3, 0.3]]).T.reshape(3, 2, 2)
    owner = torch.tensor([0, 1, 1])
    pred = predict_classes(cos, owner, 2, 10.0, None)
    assert pred.flatten().tolist() == [0, 1, 1, 0]  # ties go to the first class
    probs = (cos * 10).softmax(0).flatten(1)
    best = torch.stack([probs[0], probs[1:].max(0).values]).max(0).values
    pred = predict_classes(cos, owner, 2, 10.0, 0.5)
    assert pred.flatten().tolist() == [0 if b < 0.5 else p for b, p in zip(best.tolist(), [0, 1, 1, 0])]
    assert best[3] < 0.5 and pred.flatten()[3] == 0
    seg = torch.tensor([0, 79, 80, 170, 255])  # COCO-Stuff train ids -> COCO-Object (cvt_coco_object.py)
    object81 = get_benchmark('object81')
    assert ZeroShotSegmentation._label({'seg': seg}, object81).tolist() == [1, 80, 0, 0, 0]
    queries = class_queries(object81)
    assert len(queries) == 81 and queries[1][-1] == 'body' and queries[10] == ('traffic light',)


LAYOUTS = {'voc': ['voc21', 'voc20'], 'pascal_context59': ['context60', 'context59'], 'ade20k': ['ade150'],
           'coco_stuff': ['stuff171', 'object81'], 'cityscapes': ['city19']}


def test_smoke_every_layout(tmp_path):
    from dense.datasets.fixtures import write_fixture
    benchmarks = []
    for kind, names in LAYOUTS.items():
        root = write_fixture(kind, tmp_path / kind, num=1)
        benchmarks += [dict(name=n, data=dict(type='seg_folder', kind=kind, data_root=str(root), split='val'),
                            short_side=32) for n in names]
    cfg = Config(dict(encoder=dict(name='test'), work_dir=str(tmp_path / 'run'), evaluation=dict(
        type='zeroshot', templates='plain', num_figures=0, benchmarks=benchmarks)))
    encoder, calls = build_encoder('test'), []
    encoder.register_forward_hook(lambda *args: calls.append(1))
    results = run_evaluation(cfg, encoder=encoder, kind='zeroshot')
    assert len(calls) == len(LAYOUTS)  # one forward per image, shared by VOC-21/20 and Context-60/59
    metrics = results['metrics']['test']
    for names in LAYOUTS.values():
        for name in names:
            for method in METHODS:
                assert 0 <= metrics[f'{name}/{method}/mIoU'] <= 100
    assert 'voc21/sclip/IoU.background' in metrics and 'voc21/sclip/IoU.sky' not in metrics  # 26 words, 1 class
    assert 'IoU.trafficlight' in ' '.join(metrics)  # the references' names
    assert sum('context60/sclip/IoU.' in k for k in metrics) == 60
    assert (tmp_path / 'run' / 'metrics.json').is_file() and not (tmp_path / 'run' / 'figures').exists()
    table = (tmp_path / 'run' / 'zeroshot_results.md').read_text()
    assert '| city19 |' in table and 'clearclip' in table


def test_configs_and_cli(tmp_path):
    from pathlib import Path

    from dense.cli import main
    configs = sorted(Path('configs/zeroshot').glob('*.py'))
    smokes = [c for c in configs if c.stem.endswith('_smoke')]
    assert len(smokes) == 6 and len(configs) == 13
    for path in configs:
        cfg = Config.fromfile(str(path))
        assert cfg.evaluation.type == 'zeroshot' and Path(cfg.work_dir).name == path.stem
        if not path.stem.endswith('_smoke'):  # every experiment has a smoke variant
            assert any(s.stem.split('_')[0] == path.stem.split('_')[0] for s in smokes), path
    out = tmp_path / 'scenes'
    assert main(['zeroshot', 'configs/zeroshot/scenes_zeroshot_test-64_smoke.py',
                 '--cfg-options', f'work_dir={out}', 'evaluation.templates=plain']) == 0
    assert (out / 'metrics.json').is_file() and (out / 'figures' / 'zeroshot_scenes_maskclip_0.png').is_file()
    with pytest.raises(SystemExit):
        main(['knn', 'configs/zeroshot/scenes_zeroshot_test-64_smoke.py', '--cfg-options', f'work_dir={out}'])


def _cfg(tmp_path, **evaluation):
    scenes = [dict(name='scenes', data=dict(type='scenes', split='val', size=(64, 64), num=1))]
    return Config(dict(encoder=dict(name='test'), work_dir=str(tmp_path),
                       evaluation=dict(dict(type='zeroshot', templates='plain', benchmarks=scenes), **evaluation)))


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match='no benchmarks'):
        run_evaluation(_cfg(tmp_path, benchmarks=[]))
    with pytest.raises(KeyError, match='unknown or no methods'):
        run_evaluation(_cfg(tmp_path, methods=['gem']))
    with pytest.raises(KeyError, match='unknown zero-shot benchmark'):
        run_evaluation(_cfg(tmp_path, benchmarks=[dict(name='voc22', data=dict(type='scenes'))]))
    with pytest.raises(ValueError, match='empty template list'):
        run_evaluation(_cfg(tmp_path, templates=[]))
    cfg = _cfg(tmp_path)
    cfg.text_encoder = dict(name='tiny')
    with pytest.raises(ValueError, match='embeds in 192 dims but the image encoder test pools to 32'):
        run_evaluation(cfg)
    vision = {k: v.contiguous() for k, v in build_encoder('test').vit.state_dict().items()}
    save_file(vision, tmp_path / 'vision.safetensors')
    cfg.text_encoder = dict(name='test', weights=str(tmp_path / 'vision.safetensors'))
    with pytest.raises(CheckpointError, match='holds no text tower'):
        run_evaluation(cfg)
