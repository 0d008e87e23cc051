"""LocCa decoder losses of scene pretraining: box tokens, the three tasks' teacher-forced sequences, the loss against
an independent computation, causality, and the sigmoid + locca recipe (adds a loss, changes nothing else,
resumes bit for bit, refuses another recipe's checkpoint)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from dense.pretrain.data import EOS, CaptionTokenizer, train_tokenizer
from dense.pretrain.locca import IGNORE, TASKS, LoccaDecoder, box_tokens, locca_batch, locca_loss, region_description
from dense.pretrain.train import Pretrainer

V, BINS = 100, 32


def test_box_tokens_quantise_pixel_edges():
    assert box_tokens((0, 0, 64, 64), 64, V, BINS) == [V, V, V + 31, V + 31]
    # x0 20 -> cell 10; y0 34 -> 17; last pixel of x1 = 27 is 26 -> 13; of y1 = 44 is 43 -> 21
    assert box_tokens((20, 34, 27, 44), 64, V, BINS) == [V + 10, V + 17, V + 13, V + 21]
    assert box_tokens((2, 2, 4, 4), 64, V, BINS) == [V + 1, V + 1, V + 1, V + 1]  # one 2-px cell


@pytest.fixture(scope='module')
def tok(tmp_path_factory):
    return CaptionTokenizer(train_tokenizer(tmp_path_factory.mktemp('tok') / 'tokenizer.model', num_captions=60),
                            length=16)


def _obj(box, area, size='large', color='red', category='cone'):
    return dict(category=category, size=size, color=color, box=box, area=area)


def test_sequences_of_the_three_tasks(tok):
    """Image 0 has one mentionable object (the other is under 1 % of the image): a cap, aref and gcap row whose
    inputs and targets decode to the caption, the description -> box, the box -> description; image 1 has none
    mentionable: its cap row only."""
    dec = LoccaDecoder(tok.vocab_size, 16, width=16, layers=1, heads=2, bins=BINS, length=24)
    facts = [([_obj((20, 34, 27, 44), 55), _obj((0, 0, 3, 3), 9, 'small', 'blue', 'box')], 'plain'),
             ([_obj((0, 0, 3, 3), 9)], 'checker')]
    caps = ['a large red cone on a plain floor', 'a checkered floor']
    inputs, targets, owners = locca_batch(facts, caps, tok.encode, 64, dec, np.random.default_rng(0))
    assert owners.tolist() == [0, 0, 0, 1] and inputs.shape == targets.shape == (4, 24)
    vocab = tok.vocab_size
    box = [vocab + 10, vocab + 17, vocab + 13, vocab + 21]
    desc = tok.encode('a large red cone')
    assert region_description(facts[0][0][0]) == 'a large red cone'
    for row, task, prefix, predicted in ((0, 'cap', [], tok.encode(caps[0]) + [EOS]),
                                         (1, 'aref', desc + [EOS], box),
                                         (2, 'gcap', box, desc + [EOS]),
                                         (3, 'cap', [], tok.encode(caps[1]) + [EOS])):
        seq = [dec.task_token(task)] + prefix + predicted
        n = len(seq) - 1
        assert inputs[row, :n].tolist() == seq[:-1], task
        assert targets[row, :n].tolist() == [IGNORE] * len(prefix) + predicted, task
        assert (targets[row, n:] == IGNORE).all()
    assert len({dec.task_token(t) for t in TASKS}) == 3 and min(dec.task_token(t) for t in TASKS) == vocab + BINS
    only_cap = locca_batch(facts, caps, tok.encode, 64, dec, np.random.default_rng(0), tasks=('cap',))
    assert only_cap[2].tolist() == [0, 1]
    with pytest.raises(ValueError, match='locca.length'):
        locca_batch(facts, ['a large red cone ' * 8], tok.encode, 64, dec, np.random.default_rng(0))


def test_loss_is_the_mean_over_predicted_tokens_and_the_decoder_is_causal():
    torch.manual_seed(0)
    dec = LoccaDecoder(V, 8, width=16, layers=2, heads=2, bins=BINS, length=6).eval()
    image = torch.randn(3, 5, 8)
    inputs = torch.randint(0, dec.size, (4, 6))
    targets = torch.randint(0, dec.size, (4, 6))
    targets[0, :3] = IGNORE
    targets[2] = IGNORE
    owners = torch.tensor([0, 2, 1, 2])
    with torch.no_grad():
        logits = dec(inputs, image[owners])
    logp = F.log_softmax(logits, -1)
    keep = [(r, j) for r in range(4) for j in range(6) if targets[r, j] != IGNORE]
    expect = -sum(float(logp[r, j, targets[r, j]]) for r, j in keep) / len(keep)
    assert abs(float(locca_loss(dec, image, inputs, targets, owners).detach()) - expect) < 1e-5
    changed = inputs.clone()
    changed[:, 4] = (changed[:, 4] + 1) % dec.size  # a later token cannot change earlier predictions
    other = dec(changed, image[owners])
    assert torch.allclose(other[:, :4], logits[:, :4], atol=1e-6) and not torch.allclose(other[:, 4], logits[:, 4])
    assert not torch.allclose(dec(inputs, image[owners] + 1), logits)  # and the image tokens do


def _cfg(work_dir, recipe):
    cfg = Config.fromfile('configs/pretrain/scenes_sigmoid-dense_test-64_smoke.py')
    cfg.work_dir = str(work_dir)
    cfg.data['cache'] = str(work_dir.parent / 'scenes.npz')
    cfg.recipe = recipe
    cfg.locca = dict(width=32, layers=1)
    return cfg


def test_locca_recipe_adds_its_loss_and_resumes(tmp_path):
    """sigmoid + locca: the same towers and batch as the sigmoid recipe (equal sigmoid loss at step 0) plus the
    decoder loss, whose gradient reaches the image tower's blocks; resumes bit for bit with the decoder's state;
    a sigmoid-recipe checkpoint is refused by name; an unknown task is refused."""
    plain = Pretrainer(_cfg(tmp_path / 'plain', 'sigmoid'))
    locca = Pretrainer(_cfg(tmp_path / 'locca', 'sigmoid+locca'))
    a, b = plain.losses(0), locca.losses(0)
    assert set(a) == {'sigmoid'} and set(b) == {'sigmoid', 'locca'}
    assert torch.equal(a['sigmoid'], b['sigmoid'])
    assert 3.0 < float(b['locca'].detach()) < 8.0  # about ln(decoder vocabulary) at init
    b['locca'].backward()
    grad = locca.model.vit.blocks[0].attn.qkv.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    straight = Pretrainer(_cfg(tmp_path / 'a', 'sigmoid+locca'))
    straight.run(progress=False)
    part = Pretrainer(_cfg(tmp_path / 'b', 'sigmoid+locca'))
    for _ in range(2):
        part.train_step()
    part.save()
    resumed = Pretrainer(_cfg(tmp_path / 'b', 'sigmoid+locca'))
    resumed.run(resume=True, progress=False)
    for name in ('model', 'locca'):
        for (k, x), y in zip(getattr(straight, name).state_dict().items(),
                             getattr(resumed, name).state_dict().values()):
            assert torch.equal(x, y), (name, k)
    plain.save()
    (tmp_path / 'c').mkdir()
    (tmp_path / 'c' / 'checkpoint.pt').write_bytes((tmp_path / 'plain' / 'checkpoint.pt').read_bytes())
    with pytest.raises(ValueError, match="checkpoint.pt: checkpoint has no 'locca' state"):
        Pretrainer(_cfg(tmp_path / 'c', 'sigmoid+locca')).load()
    with pytest.raises(ValueError, match="checkpoint.pt: checkpoint has a 'locca' state and the recipe is 'sigmoid'"):
        Pretrainer(_cfg(tmp_path / 'b', 'sigmoid')).load()
    cfg = _cfg(tmp_path / 'd', 'sigmoid+locca')
    cfg.locca['tasks'] = ('cap', 'vqa')
    with pytest.raises(ValueError, match='locca.tasks'):
        Pretrainer(cfg)


class _ScriptedDecoder(LoccaDecoder):
    """Puts logit 10 on the next token of ``want`` wherever a row so far agrees with it, 0 elsewhere."""

    def __init__(self, want, **kw):
        super().__init__(**kw)
        self.want = want

    def forward(self, ids, image):
        out = torch.zeros(*ids.shape, self.size)
        for i, row in enumerate(ids.tolist()):
            for t in range(len(row)):
                if t + 1 < len(self.want) and row[:t + 1] == self.want[:t + 1]:
                    out[i, t, self.want[t + 1]] = 10.0
        return out


def test_describe_region_and_locate_decode_what_the_decoder_prefers(tok):
    """Grounded captioning ranks whole descriptions by the decoder's log-likelihood (the scripted one prefers 'a
    small blue box' for this box); automatic referring decodes the scripted box's cells, among location tokens only
    (the scripted decoder also puts a word token first: it is skipped)."""
    from dense.pretrain.locca import describe_region, locate
    kw = dict(vocab=tok.vocab_size, image_width=16, width=16, layers=1, heads=2, bins=BINS, length=24)
    box = (20, 34, 27, 44)
    want = [0] + box_tokens(box, 64, tok.vocab_size, BINS) + tok.encode('a small blue box') + [EOS]
    want[0] = LoccaDecoder(**kw).task_token('gcap')
    candidates = [dict(size=s, color=c, category=k) for s in ('small', 'large') for c in ('red', 'blue')
                  for k in ('box', 'cone')]
    image = torch.zeros(1, 4, 16)
    best = describe_region(_ScriptedDecoder(want, **kw), image, box, tok.encode, 64, candidates)
    assert best == dict(size='small', color='blue', category='box')
    prefix = [LoccaDecoder(**kw).task_token('aref')] + tok.encode('a large red cone') + [EOS]
    cells = [tok.vocab_size + c for c in (3, 5, 7, 9)]
    got = locate(_ScriptedDecoder(prefix + cells, **kw), image, 'a large red cone', tok.encode, 64)
    assert got == (3 * 2, 5 * 2, 8 * 2, 10 * 2)    # 2-px cells; x1 / y1 at the end of their cell
    word_first = _ScriptedDecoder(prefix + [5] + cells, **kw)
    # its preferred word is skipped; the row then leaves the script, where every location scores 0: cell 0
    assert locate(word_first, image, 'a large red cone', tok.encode, 64) == (0, 0, 2, 2)
