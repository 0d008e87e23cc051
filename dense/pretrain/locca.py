"""LocCa's decoder losses for scene pretraining (Wan et al., 2024, "LocCa: Visual Pretraining with Location-aware
Captioners"; SigLIP 2, Tschannen et al., 2025, §2.1).

SigLIP 2 attaches a transformer decoder with cross-attention to the *unpooled* image tokens and trains it, from the
start of training, on three tasks at once, each a next-token prediction with the image as context:

- ``cap``: the caption,
- ``aref`` (automatic referring expression): a region's description -> its box, the box written as coordinate tokens,
- ``gcap`` (grounded captioning): a box -> the description of what is in it.

The decoder is dropped after pretraining; what stays is an image tower whose patch tokens had to tell a decoder what
lies in a given box, and where a described thing lies. Here the regions are the scene's mentionable objects (their
exact pixel boxes), the descriptions name size, colour and shape ("a large red cone"), and box coordinates are
quantised into ``bins`` location tokens per axis (LocCa / Pix2Seq). Token ids: the caption tokenizer's ``[0, V)``,
then ``bins`` location tokens, then one prefix token per task.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dense.scenes.captions import mentionable

TASKS = ('cap', 'aref', 'gcap')
IGNORE = -100


class LoccaDecoder(nn.Module):
    """A pre-LN transformer decoder (causal self-attention, cross-attention to image tokens) over LocCa tokens.

    Args:
        vocab: Size of the caption tokenizer's vocabulary.
        image_width: Channels of the image tokens it attends to.
        width, layers, heads: The decoder's size.
        bins: Location tokens per axis.
        length: Longest sequence (prefix included).
    """

    def __init__(self, vocab: int, image_width: int, width: int = 128, layers: int = 2, heads: int = 2,
                 bins: int = 32, length: int = 24):
        super().__init__()
        self.vocab, self.bins, self.length = vocab, bins, length
        self.size = vocab + bins + len(TASKS)
        self.embed = nn.Embedding(self.size, width)
        self.pos = nn.Parameter(torch.randn(length, width) * 0.02)
        self.memory = nn.Sequential(nn.LayerNorm(image_width), nn.Linear(image_width, width))
        layer = nn.TransformerDecoderLayer(width, heads, 4 * width, dropout=0.0, activation='gelu',
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerDecoder(layer, layers, norm=nn.LayerNorm(width))
        self.head = nn.Linear(width, self.size)

    def task_token(self, task: str) -> int:
        return self.vocab + self.bins + TASKS.index(task)

    def forward(self, ids: Tensor, image: Tensor) -> Tensor:
        """Logits ``(N, L, size)`` of next tokens for input ids ``(N, L)`` given image tokens ``(N, T, C)``."""
        n = ids.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(n, device=ids.device)
        x = self.embed(ids) + self.pos[:n]
        return self.head(self.blocks(x, self.memory(image), tgt_mask=causal, tgt_is_causal=True))


def box_tokens(box, size: int, vocab: int, bins: int) -> list[int]:
    """Location tokens of a pixel-edge box ``(x0, y0, x1, y1)`` in an image of side ``size``: each coordinate
    quantised into ``bins`` equal cells (the cell holding x0 / y0, the cell holding the last pixel for x1 / y1)."""
    x0, y0, x1, y1 = box
    cells = [x0, y0, x1 - 1e-6, y1 - 1e-6]
    return [vocab + int(np.clip(np.floor(c / size * bins), 0, bins - 1)) for c in cells]


def region_description(obj: dict) -> str:
    """What grounded captioning reads off a region: 'a large red cone'."""
    words = ' '.join((obj['size'], obj['color'], obj['category']))
    return ('an ' if words[0] in 'aeiou' else 'a ') + words


def locca_batch(facts: list, captions: list[str], encode, size: int, decoder: LoccaDecoder,
                rng: np.random.Generator, tasks=TASKS) -> tuple[Tensor, Tensor, Tensor]:
    """Teacher-forced sequences of the LocCa tasks for a batch of scenes.

    Args:
        facts: Per image, (objects, floor) as :class:`dense.pretrain.data.ScenePool` keeps them.
        captions: Per image, the caption the sigmoid loss pairs with it (the ``cap`` target).
        encode: Text -> token ids, no padding and no EOS (the sentencepiece model of the caption tokenizer).
        size: Image side in pixels (the boxes' frame).
        decoder: Gives the vocabulary layout and the longest sequence.
        rng: Draws the region each image's ``aref`` / ``gcap`` rows describe (one visible object).
        tasks: Which of :data:`TASKS` to build.

    Returns:
        ``inputs`` (M, L) and ``targets`` (M, L) token ids (``IGNORE`` where nothing is predicted: the prefix, the
        expression of ``aref``, padding), and ``image`` (M,) the batch index each row looks at; rows for every
        image and task, except ``aref`` / ``gcap`` for images with no mentionable object.
    """
    from dense.pretrain.data import EOS, PAD
    vocab, bins, length = decoder.vocab, decoder.bins, decoder.length
    rows, owners = [], []
    for i, ((objects, _floor), caption) in enumerate(zip(facts, captions)):
        visible = mentionable(objects, size * size)
        region = objects[visible[int(rng.integers(len(visible)))]] if visible else None
        for task in tasks:
            if task == 'cap':
                prefix, predicted = [], encode(caption) + [EOS]
            elif region is None:
                continue
            elif task == 'aref':
                prefix, predicted = encode(region_description(region)) + [EOS], box_tokens(region['box'], size,
                                                                                           vocab, bins)
            else:
                prefix, predicted = box_tokens(region['box'], size, vocab, bins), encode(
                    region_description(region)) + [EOS]
            seq = [decoder.task_token(task)] + prefix + predicted
            if len(seq) > length + 1:
                raise ValueError(f'LocCa {task} sequence of {len(seq)} tokens exceeds locca.length={length} + 1')
            target = [IGNORE] * len(prefix) + predicted
            rows.append((seq[:-1], target))
            owners.append(i)
    inputs = torch.full((len(rows), length), PAD, dtype=torch.long)
    targets = torch.full((len(rows), length), IGNORE, dtype=torch.long)
    for r, (seq, target) in enumerate(rows):
        inputs[r, :len(seq)] = torch.tensor(seq)
        targets[r, :len(target)] = torch.tensor(target)
    return inputs, targets, torch.tensor(owners, dtype=torch.long)


def locca_loss(decoder: LoccaDecoder, image_tokens: Tensor, inputs: Tensor, targets: Tensor,
               owners: Tensor) -> Tensor:
    """Mean next-token cross-entropy over the predicted tokens of every row (image tokens ``(N, T, C)``)."""
    logits = decoder(inputs, image_tokens[owners])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)


def describe_region(decoder: LoccaDecoder, image_tokens: Tensor, box, encode, size: int,
                    candidates: list[dict]) -> dict:
    """Grounded captioning by ranking: the candidate object (size, colour, category) whose description the decoder
    finds likeliest (summed teacher-forced log-probabilities) for ``box``, given one image's tokens ``(1, T, C)``."""
    from dense.pretrain.data import EOS
    prefix = [decoder.task_token('gcap')] + box_tokens(box, size, decoder.vocab, decoder.bins)
    seqs = [prefix + encode(region_description(c)) + [EOS] for c in candidates]
    ids = torch.zeros(len(seqs), max(map(len, seqs)), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
    with torch.no_grad():
        logp = decoder(ids[:, :-1], image_tokens.expand(len(seqs), -1, -1)).log_softmax(-1)
    scores = [float(sum(logp[i, t - 1, s[t]] for t in range(len(prefix), len(s)))) for i, s in enumerate(seqs)]
    return candidates[int(np.argmax(scores))]


def locate(decoder: LoccaDecoder, image_tokens: Tensor, description: str, encode, size: int) -> tuple:
    """Automatic referring: the four location tokens decoded greedily (among location tokens only) after
    ``description``, as a pixel-edge box ``(x0, y0, x1, y1)`` (cell edges; x1 / y1 the end of their cell)."""
    from dense.pretrain.data import EOS
    seq = [decoder.task_token('aref')] + encode(description) + [EOS]
    with torch.no_grad():
        for _ in range(4):
            logits = decoder(torch.tensor([seq]), image_tokens)[0, -1, decoder.vocab:decoder.vocab + decoder.bins]
            seq.append(decoder.vocab + int(logits.argmax()))
    c = [t - decoder.vocab for t in seq[-4:]]
    cell = size / decoder.bins
    return c[0] * cell, c[1] * cell, (c[2] + 1) * cell, (c[3] + 1) * cell


def held_out_check(trainer, num: int = 200) -> dict:
    """What a +locca run's decoder reads off held-out pretraining-range scenes (the last ``num`` seeds, which a pool
    of under ``1e6 - num`` scenes never trains on): for each scene's largest mentionable object, grounded-captioning
    accuracy per attribute among all size x colour x shape descriptions, and automatic-referring Acc@0.5."""
    from dense.pretrain.data import PRETRAIN_SEEDS
    from dense.scenes.layout import CLASS_NAMES, COLORS, SIZES
    from dense.scenes.render import render_scene
    from probes.metrics.referring import paired_box_iou, referring_metrics
    candidates = [dict(size=s, color=c, category=k) for s in SIZES for c in COLORS for k in CLASS_NAMES[1:]]
    size, decoder = trainer.pool.size, trainer.locca.eval()
    encode = trainer.tokenizer.encode
    hits, ious, n = dict(size=0, color=0, category=0), [], 0
    for seed in range(PRETRAIN_SEEDS[1] - num, PRETRAIN_SEEDS[1]):
        scene = render_scene(seed, (size, size))
        visible = mentionable(scene.objects, size * size)
        if not visible:
            continue
        obj = scene.objects[visible[0]]
        x = torch.from_numpy(scene.image).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            tokens = trainer.model.tokens(((x - 0.5) / 0.5).to(trainer.device))
        best = describe_region(decoder, tokens, obj['box'], encode, size, candidates)
        for k in hits:
            hits[k] += best[k] == obj[k]
        box = locate(decoder, tokens, region_description(obj), encode, size)
        ious.append(paired_box_iou(torch.tensor([box]), torch.tensor([obj['box']]))[0])
        n += 1
    if not n:
        raise ValueError(f'no held-out scene of the last {num} pretraining seeds has a mentionable object')
    return {'regions': n, 'descriptions': len(candidates), **{f'gcap/{k}': 100 * v / n for k, v in hits.items()},
            'aref/Acc@0.5': referring_metrics(torch.stack(ious))['Acc@0.5']}


def main() -> None:
    import argparse

    from mmengine.config import Config

    from dense.pretrain.train import Pretrainer
    parser = argparse.ArgumentParser(description='held-out check of a +locca pretraining run\'s decoder')
    parser.add_argument('config')
    parser.add_argument('--num', type=int, default=200)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    trainer = Pretrainer(cfg)
    if trainer.locca is None:
        raise SystemExit(f'{args.config}: recipe {cfg.recipe!r} has no LocCa decoder')
    if not (trainer.work_dir / 'checkpoint.pt').exists():
        raise SystemExit(f'{trainer.work_dir / "checkpoint.pt"}: no checkpoint; run sprobe pretrain {args.config}')
    trainer.load()
    trainer.model.eval()
    r = held_out_check(trainer, args.num)
    print(f"step {trainer.step}, {r['regions']} held-out regions (each scene's largest mentionable object)")
    print(f"grounded captioning, best of {r['descriptions']} descriptions: size {r['gcap/size']:.1f} % (chance 50), "
          f"colour {r['gcap/color']:.1f} % (12.5), shape {r['gcap/category']:.1f} % (20)")
    print(f"automatic referring Acc@0.5: {r['aref/Acc@0.5']:.1f} %")


if __name__ == '__main__':
    main()
