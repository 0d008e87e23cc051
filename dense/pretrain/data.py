"""Pretraining data: rendered scenes from a seed range no probe split uses, captions, and the caption tokenizer.

The tokenizer follows the SigLIP text preprocessing (big_vision ``pp_ops`` / HF ``SiglipTokenizer``): lower-case,
no BOS, EOS appended and kept when truncating, right-padded with 0 to 64 tokens. It is a sentencepiece BPE model with
byte fallback and pad / eos / bos / unk = 0 / 1 / 2 / 3 (the Gemma ids), trained on scene captions.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from dense.io import atomic_path, write_json
from dense.scenes.captions import caption_vocabulary, ground_texture, scene_caption
from dense.scenes.render import SPLITS, render_scene

PRETRAIN_SEEDS = (5_000_000, 6_000_000)   # disjoint from every probe split (tests/test_pretrain.py checks)
TEXT_LENGTH = 64
PAD, EOS = 0, 1


def pretrain_seeds(num: int) -> range:
    """The first ``num`` pretraining scene seeds; raises if they would reach into a probe split."""
    first, last = PRETRAIN_SEEDS
    if num > last - first:
        raise ValueError(f'dense/pretrain/data.py: at most {last - first} pretraining scenes, asked {num}')
    seeds = range(first, first + num)
    for split, (lo, hi) in SPLITS.items():
        if seeds.start < hi and lo < seeds.stop:
            raise ValueError(f'dense/pretrain/data.py: pretraining seeds overlap the {split!r} split')
    return seeds


class ScenePool:
    """``num`` pretraining scenes rendered once at ``size`` and cached in ``cache`` (images ``.npz`` + caption facts
    ``.json``: each scene's objects and ground texture).

    Attributes:
        images: uint8 (num, H, W, 3).
        facts: Per scene (objects, ground texture), what :func:`scene_caption` reads.
    """

    def __init__(self, num: int, size: int, cache: str | Path | None = None, progress: bool = True):
        seeds = list(pretrain_seeds(num))
        cache = Path(cache) if cache else None
        if cache and cache.exists() and cache.with_suffix('.json').exists():
            with np.load(cache, allow_pickle=False) as z:
                self.images, cached = z['images'], z['seeds'].tolist()
            self.facts = [tuple(f) for f in json.loads(cache.with_suffix('.json').read_text())]
            if cached != seeds or self.images.shape[1:3] != (size, size):
                raise ValueError(f'{cache}: scene cache made for other seeds or size; delete it to re-render')
        else:
            from tqdm import tqdm
            scenes = [render_scene(s, (size, size)) for s in tqdm(seeds, desc='render scenes', disable=not progress)]
            self.images = np.stack([s.image for s in scenes])
            self.facts = [(s.objects, ground_texture(s.seed)) for s in scenes]
            if cache:
                with atomic_path(cache) as tmp, open(tmp, 'wb') as f:
                    np.savez(f, images=self.images, seeds=np.asarray(seeds, dtype=np.int64))
                write_json(cache.with_suffix('.json'), self.facts)
        self.size = size

    def __len__(self) -> int:
        return len(self.images)

    def batch(self, indices, rng: np.random.Generator, **caption) -> tuple[torch.Tensor, list[str]]:
        """Images float (N, 3, H, W) in [0, 1] and one random true caption per image (``caption``: options of
        :func:`scene_caption`)."""
        images = torch.from_numpy(self.images[np.asarray(indices)]).permute(0, 3, 1, 2).float() / 255
        captions = [scene_caption(*self.facts[int(i)], self.size * self.size, rng, **caption) for i in indices]
        return images, captions


def train_tokenizer(path: str | Path, vocab_size: int = 384, num_captions: int = 3000) -> Path:
    """Train the caption sentencepiece model (BPE, byte fallback, Gemma special ids) and write it to ``path``."""
    import io

    import sentencepiece as spm
    rng = np.random.default_rng(0)
    lines = list(caption_vocabulary())
    for seed in pretrain_seeds(num_captions // 3):
        scene = render_scene(seed, (64, 64))
        lines += [scene_caption(scene.objects, ground_texture(seed), 64 * 64, rng) for _ in range(3)]
        lines += [e['text'] for e in scene.expressions]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, model_type='bpe', vocab_size=vocab_size,
        byte_fallback=True, pad_id=PAD, eos_id=EOS, bos_id=2, unk_id=3, character_coverage=1.0,
        num_threads=1, minloglevel=2)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(model.getvalue())
    return Path(path)


class CaptionTokenizer:
    """SigLIP text preprocessing over a sentencepiece model (see module docstring)."""

    def __init__(self, model_file: str | Path, length: int = TEXT_LENGTH):
        import sentencepiece as spm
        if not Path(model_file).is_file():
            raise FileNotFoundError(f'{model_file}: no sentencepiece model')
        self.sp = spm.SentencePieceProcessor(model_file=str(model_file))
        self.length = length
        self.vocab_size = self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        """Token ids of one text, lower-cased, without EOS or padding."""
        return self.sp.encode(text.lower())

    def __call__(self, texts: list[str]) -> torch.Tensor:
        out = torch.full((len(texts), self.length), PAD, dtype=torch.long)
        for i, ids in enumerate(self.sp.encode([t.lower() for t in texts])):
            ids = ids[:self.length - 1] + [EOS]
            out[i, :len(ids)] = torch.tensor(ids)
        return out
