"""Scene pretraining: seeds disjoint from the probe splits, true captions, SigLIP tokenisation, the losses against
independent computations, a resumable deterministic run, and its export as a transformers SiglipModel checkpoint."""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from dense.pretrain.data import EOS, PAD, PRETRAIN_SEEDS, CaptionTokenizer, pretrain_seeds, train_tokenizer
from dense.pretrain.losses import Centre, distill_loss, sigmoid_loss
from dense.pretrain.train import Pretrainer, colour_jitter, local_crops, random_masks
from dense.scenes.captions import FLOORS, ground_texture, scene_caption
from dense.scenes.expressions import RELATIONS, evaluate
from dense.scenes.layout import CLASS_NAMES, COLORS, SIZES
from dense.scenes.render import SPLITS, render_scene

_DESC = r'an? (?:({s}) )?(?:({c}) )?({k})'.format(s='|'.join(SIZES), c='|'.join(COLORS), k='|'.join(CLASS_NAMES))


def test_pretraining_seeds_disjoint_from_every_probe_split():
    lo, hi = PRETRAIN_SEEDS
    for split, (a, b) in SPLITS.items():
        assert hi <= a or b <= lo, split
    seeds = pretrain_seeds(1000)
    assert all(not (a <= s < b) for s in seeds for a, b in SPLITS.values())
    with pytest.raises(ValueError, match='at most'):
        pretrain_seeds(hi - lo + 1)


@pytest.mark.parametrize('seed', [PRETRAIN_SEEDS[0] + i for i in range(6)])
def test_captions_are_true_of_their_scene(seed):
    """Every object phrase names a visible object's real attributes; a relation holds by the expressions' rule."""
    scene = render_scene(seed, (64, 64))
    rng = np.random.default_rng(0)
    floor = ground_texture(seed)
    for _ in range(10):
        text = scene_caption(scene.objects, floor, 64 * 64, rng)
        assert text.endswith(f'{FLOORS[floor]} floor'), text
        if text.startswith('an empty'):
            assert not [o for o in scene.objects if o['area'] >= 0.01 * 64 * 64]
            continue
        for clause in text.rsplit(' on a ', 1)[0].split(' and '):
            rel = re.fullmatch(rf'{_DESC} ({"|".join(RELATIONS)}) {_DESC}', clause)
            if rel:
                g = rel.groups()
                assert evaluate((g[0:3], g[3], g[4:7]), scene.objects), text
                continue
            size, color, category = re.fullmatch(_DESC, clause).groups()
            assert any(o['category'] == category and size in (None, o['size']) and color in (None, o['color'])
                       for o in scene.objects), text


@pytest.fixture(scope='module')
def tokenizer_file(tmp_path_factory):
    return train_tokenizer(tmp_path_factory.mktemp('tok') / 'tokenizer.model', num_captions=60)


def test_tokenizer_follows_siglip_text_preprocessing(tokenizer_file):
    tok = CaptionTokenizer(tokenizer_file, length=8)
    ids = tok(['A Red Cone', 'a red cone', 'a large red cone left of a small blue box on a checkered floor'])
    assert ids.shape == (3, 8) and ids.dtype == torch.long
    assert torch.equal(ids[0], ids[1])  # lower-cased
    n = int((ids[0] != PAD).sum())
    assert ids[0, n - 1] == EOS and (ids[0, n:] == PAD).all() and 2 not in ids[0].tolist()  # EOS, right pad, no BOS
    assert ids[2, -1] == EOS and (ids[2] != PAD).all()  # truncated: EOS kept


def test_sigmoid_loss_matches_pairwise_binary_cross_entropy():
    g = torch.Generator().manual_seed(0)
    img, txt = torch.randn(5, 8, generator=g), torch.randn(5, 8, generator=g)
    t, b = torch.tensor([2.3]), torch.tensor([-10.0])
    expected = 0.0
    for i in range(5):
        for j in range(5):
            logit = F.cosine_similarity(img[i], txt[j], dim=0) * t.exp() + b
            expected += F.binary_cross_entropy_with_logits(logit, torch.tensor([float(i == j)]), reduction='sum')
    assert torch.allclose(sigmoid_loss(img, txt, t, b), expected / 5, atol=1e-5)
    # identical captions (pairs 1-3) as positives: the same sum with those two labels flipped to 1
    same = torch.zeros(5, 5, dtype=torch.bool)
    same[1, 3] = same[3, 1] = True
    expected_same = 0.0
    for i in range(5):
        for j in range(5):
            logit = F.cosine_similarity(img[i], txt[j], dim=0) * t.exp() + b
            target = torch.tensor([float(i == j or bool(same[i, j]))])
            expected_same += F.binary_cross_entropy_with_logits(logit, target, reduction='sum')
    assert torch.allclose(sigmoid_loss(img, txt, t, b, same), expected_same / 5, atol=1e-5)


def test_sigmoid_loss_with_hard_negative_texts():
    """Texts beyond the first N are negatives of every image: the pairwise sum over an N x M table."""
    g = torch.Generator().manual_seed(1)
    img, txt = torch.randn(3, 8, generator=g), torch.randn(5, 8, generator=g)
    t, b = torch.tensor([1.0]), torch.tensor([-2.0])
    logits = F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).T * t.exp() + b
    expected = F.binary_cross_entropy_with_logits(logits, torch.eye(3, 5), reduction='sum') / 3
    assert torch.allclose(sigmoid_loss(img, txt, t, b), expected, atol=1e-5)
    with pytest.raises(ValueError, match='2 texts for 3 images'):
        sigmoid_loss(img, txt[:2], t, b)


def test_shape_swapped_captions_differ_only_in_shape():
    from dense.scenes.captions import swap_shapes
    rng = np.random.default_rng(0)
    caption = 'a large red cone left of a small blue box on a checkered floor'
    for _ in range(20):
        swapped = swap_shapes(caption, rng)
        a, b = caption.split(), swapped.split()
        changed = [(x, y) for x, y in zip(a, b) if x != y]
        assert len(a) == len(b) and [x for x, _ in changed] == ['cone', 'box']
        assert all(y in ('sphere', 'box', 'cylinder', 'cone', 'capsule') and y != x for x, y in changed)
    assert swap_shapes('an empty plain floor', rng) == 'an empty plain floor'


def test_distillation_loss_centre_masks_and_crops():
    g = torch.Generator().manual_seed(0)
    s, t, c = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g), torch.randn(6, generator=g)
    expected = -(torch.softmax((t - c) / 0.04, -1) * torch.log_softmax(s / 0.1, -1)).sum(-1).mean()
    assert torch.allclose(distill_loss(s, t, c), expected)
    centre = Centre(6, momentum=0.5)
    centre.update(t)
    assert torch.allclose(centre.value, 0.5 * t.mean(0))
    masks = random_masks(50, (8, 8), (0.1, 0.5), torch.Generator().manual_seed(1))
    frac = masks.flatten(1).float().mean(1)
    assert masks.shape == (50, 8, 8) and frac.min() >= 0.09 and frac.max() <= 0.51
    views = local_crops(torch.rand(3, 3, 64, 64), 2, 32, (0.15, 0.4), torch.Generator().manual_seed(2))
    assert [v.shape for v in views] == [(3, 3, 32, 32)] * 2


def _smoke_cfg(work_dir):
    cfg = Config.fromfile('configs/pretrain/scenes_sigmoid-dense_test-64_smoke.py')
    cfg.work_dir = str(work_dir)
    cfg.data['cache'] = str(work_dir.parent / 'scenes.npz')
    return cfg


def test_pretraining_resumes_deterministically_and_exports_hf(tmp_path):
    """4 steps at once == 2 steps, checkpoint, 2 resumed steps (bit-identical, the dense losses on from step 2);
    the export loads in transformers and in our encoder with the same outputs (asserted within 1e-5)."""
    straight = Pretrainer(_smoke_cfg(tmp_path / 'a'))
    hf_dir = straight.run(progress=False)
    interrupted = Pretrainer(_smoke_cfg(tmp_path / 'b'))  # stopped after the step-2 checkpoint
    for _ in range(2):
        interrupted.train_step()
    interrupted.save()
    resumed = Pretrainer(_smoke_cfg(tmp_path / 'b'))
    resumed.run(resume=True, progress=False)
    assert resumed.step == 4
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k
    from transformers import SiglipModel

    from dense.encoders import build_encoder
    ref = SiglipModel.from_pretrained(hf_dir).eval()
    enc = build_encoder('test', weights=hf_dir)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        r = ref.vision_model(pixel_values=x)
        ours = enc(x)
        assert (ours.tokens - r.last_hidden_state).abs().max() <= 1e-5
        assert (ours.pooled - r.pooler_output).abs().max() <= 1e-5
        assert (ref.text_model(input_ids=straight.tokenizer(['a red cone'])).pooler_output
                - straight.model.encode_text(straight.tokenizer(['a red cone']))).abs().max() <= 1e-5
    assert torch.equal(ref.logit_bias.detach(), straight.model.logit_bias.detach())


def test_dense_recipe_branches_from_the_sigmoid_run(tmp_path):
    """Until dense.start both recipes take identical steps: the sigmoid run's branch checkpoint, resumed by the
    sigmoid + dense recipe, ends bit-identical to the dense recipe run from scratch (how scenes-dense was made)."""
    sigmoid = _smoke_cfg(tmp_path / 's')
    sigmoid.recipe = 'sigmoid'
    Pretrainer(sigmoid).run(progress=False)
    branch = tmp_path / 's' / 'checkpoint-2.pt'      # dense.start 0.5 of 4 steps
    assert torch.load(branch, weights_only=True)['step'] == 2
    (tmp_path / 'd').mkdir()
    (tmp_path / 'd' / 'checkpoint.pt').write_bytes(branch.read_bytes())
    branched = Pretrainer(_smoke_cfg(tmp_path / 'd'))
    branched.run(resume=True, progress=False)
    straight = Pretrainer(_smoke_cfg(tmp_path / 'a'))
    straight.run(progress=False)
    for part in ('model', 'dense', 'teacher'):
        for (k, a), b in zip(getattr(straight, part).state_dict().items(),
                             getattr(branched, part).state_dict().values()):
            assert torch.equal(a, b), (part, k)
    sigmoid_end = torch.load(tmp_path / 's' / 'checkpoint.pt', weights_only=True)['model']
    assert not torch.equal(sigmoid_end['vit.blocks.0.attn.qkv.weight'],
                           straight.model.state_dict()['vit.blocks.0.attn.qkv.weight'])  # the recipes did diverge


def test_shape_hard_negatives_add_negative_terms(tmp_path):
    """hard_negatives='shape': the same batch, plus its shape-swapped captions as negatives, costs more (every
    added term is a positive binary cross-entropy); an unknown kind is refused."""
    plain = Pretrainer(_smoke_cfg(tmp_path / 'plain'))
    cfg = _smoke_cfg(tmp_path / 'hard')
    cfg.hard_negatives = 'shape'
    hard = Pretrainer(cfg)
    with torch.no_grad():
        assert hard.losses(0)['sigmoid'] > plain.losses(0)['sigmoid'] + 1e-3
    cfg.hard_negatives = 'colour'
    with pytest.raises(ValueError, match='hard_negatives'):
        Pretrainer(cfg)


def test_colour_jitter_of_student_views():
    """Off is the identity; grayscale makes the channels equal; one generator seed, one result; pixels stay in
    [0, 1]; a hue shift changes colours but keeps a gray pixel gray."""
    x = torch.rand(4, 3, 8, 8)
    x[:, :, 0, 0] = 0.5
    gen = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    assert torch.equal(colour_jitter(x, gen(), p=0.0, grayscale=0.0), x)
    gray = colour_jitter(x, gen(), p=0.0, grayscale=1.0)
    assert torch.allclose(gray[:, 0], gray[:, 1]) and torch.allclose(gray[:, 1], gray[:, 2])
    a = colour_jitter(x, gen(), p=1.0, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.5, grayscale=0.0)
    assert torch.equal(a, colour_jitter(x, gen(), p=1.0, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.5,
                                        grayscale=0.0))
    assert (a - x).abs().mean() > 0.05 and a.min() >= 0 and a.max() <= 1
    assert torch.allclose(a[:, :, 0, 0], x[:, :, 0, 0], atol=1e-3)


def test_dense_colour_option_changes_only_the_student_views(tmp_path):
    """dense.colour jitters the student's crops and masked views: the dense losses change, the sigmoid loss (clean
    images) does not."""
    plain = Pretrainer(_smoke_cfg(tmp_path / 'plain'))
    cfg = _smoke_cfg(tmp_path / 'colour')
    cfg.dense['colour'] = dict(p=1.0, hue=0.5, grayscale=0.5)
    jittered = Pretrainer(cfg)
    step = plain.branch_step
    with torch.no_grad():
        a, b = plain.losses(step), jittered.losses(step)
    assert a['sigmoid'] == b['sigmoid']
    assert a['local_global'] != b['local_global'] and a['masked'] != b['masked']


def test_pretraining_device_setting(tmp_path):
    """``device='cpu'`` trains on the CPU; 'auto' picks CUDA only when there is one; asking for CUDA where there is
    none is a one-line error, before anything is rendered or written."""
    cfg = _smoke_cfg(tmp_path / 'cpu')
    cfg.device = 'cpu'
    assert all(p.device.type == 'cpu' for p in Pretrainer(cfg).model.parameters())
    cfg = _smoke_cfg(tmp_path / 'auto')
    assert Pretrainer(cfg).device.type == ('cuda' if torch.cuda.is_available() else 'cpu')
    if not torch.cuda.is_available():
        cfg = _smoke_cfg(tmp_path / 'cuda')
        cfg.device = 'cuda'
        with pytest.raises(ValueError, match='CUDA is not available'):
            Pretrainer(cfg)
        assert not (tmp_path / 'cuda').exists()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device')
def test_cuda_pretraining_takes_the_cpu_run_s_steps(tmp_path):
    """Every recipe part on CUDA (sigmoid, LocCa, the dense losses from step 2): the same batches, crops and masks as
    on the CPU, so the losses of each of the 4 steps agree within float tolerance; a CUDA run exports its HF directory."""
    runs, tf32 = {}, torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # the patch convolution in float32, as on the CPU
    try:
        for device in ('cpu', 'cuda'):
            cfg = _smoke_cfg(tmp_path / device)
            cfg.device, cfg.recipe = device, 'sigmoid+dense+locca'
            trainer = Pretrainer(cfg)
            assert all(p.device.type == device for p in trainer.model.parameters())
            runs[device] = [trainer.train_step() for _ in range(4)]
            assert trainer.export().is_dir()
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    for step, (a, b) in enumerate(zip(runs['cpu'], runs['cuda'])):
        assert a.keys() == b.keys(), step
        for k in a:
            assert abs(a[k] - b[k]) <= 1e-3 * max(1.0, abs(a[k])), (step, k, a[k], b[k])
