"""Train the small sentencepiece model shipped for the random-init / scene-trained text towers (``tiny``, ``test``).

    python -m dense.text.train_tokenizer [--out dense/text/assets/scenes_bpe1024.model] [--check]

Gemma's tokenizer, scaled down: BPE with byte fallback, pad / eos / bos / unk = 0 / 1 / 2 / 3, no dummy prefix,
identity normalisation, digits split (Gemma tech report, 2024; its ``tokenizer.model`` normalizer spec). The corpus is
built here, deterministically: the scene vocabulary (``dense/scenes`` shapes, colours, sizes, textures, relations and
the referring expressions they make), the prompt templates filled with those words, and the class names of the
segmentation data sets mmseg describes (ADE20K, Pascal VOC / Context, COCO-Stuff, Cityscapes) as common English.
Training is single-threaded over an in-memory corpus in a fixed order, so the output bytes are reproducible
(``--check`` compares a fresh training with the shipped file; tests/test_text_tokenizer.py does the same).
"""
from __future__ import annotations

import argparse
import io
import itertools
import sys
from pathlib import Path

from dense.text.templates import IMAGENET_TEMPLATES, SHORT_TEMPLATES
from dense.text.variants import SHIPPED_VOCAB

SHIPPED_MODEL = Path(__file__).parent / 'assets' / f'scenes_bpe{SHIPPED_VOCAB}.model'
_MMSEG_DATASETS = ('ADE20KDataset', 'PascalVOCDataset', 'PascalContextDataset', 'COCOStuffDataset',
                   'CityscapesDataset')


def _dataset_class_names() -> list:
    from dense.mmcv_compat import import_mmseg
    import_mmseg()
    import mmseg.datasets as datasets
    names = []
    for cls in _MMSEG_DATASETS:
        names += [n for n in getattr(datasets, cls).METAINFO['classes']]
    return list(dict.fromkeys(names))


def _scene_phrases() -> list:
    from dense.scenes.expressions import ABSOLUTE, RELATIONS
    from dense.scenes.layout import CLASS_NAMES, COLORS, SIZES, TEXTURES
    shapes = list(CLASS_NAMES)
    descs = [' '.join(w for w in d if w) for d in itertools.product(['', *SIZES], ['', *COLORS], shapes[1:])]
    out = [f'the {d}' for d in descs]
    out += [f'the {d} {a}' for d, a in itertools.product(descs[::3], ABSOLUTE)]
    out += [f'the {a} {r} the {b}' for a, r, b in itertools.product(descs[::7], RELATIONS, shapes[1:])]
    out += [f'a {t} {c} {s}' for t, c, s in itertools.product(TEXTURES, COLORS, shapes)]
    return out


def corpus() -> list:
    """The training sentences, in a fixed order."""
    from dense.scenes.layout import CLASS_NAMES
    words = [*CLASS_NAMES, *_dataset_class_names()]
    prompts = [t.format(w) for t in (*IMAGENET_TEMPLATES, *SHORT_TEMPLATES) for w in words]
    return [*_scene_phrases(), *prompts, *words]


def train(sentences: list, vocab_size: int = SHIPPED_VOCAB) -> bytes:
    """Serialized sentencepiece model trained on ``sentences`` (lower-cased, as the towers see text)."""
    import sentencepiece as spm
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s.lower() for s in sentences]), model_writer=buffer, model_type='bpe',
        vocab_size=vocab_size, byte_fallback=True, pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        pad_piece='<pad>', eos_piece='<eos>', bos_piece='<bos>', unk_piece='<unk>',
        add_dummy_prefix=False, normalization_rule_name='identity', remove_extra_whitespaces=False,
        split_digits=True, allow_whitespace_only_pieces=True, character_coverage=1.0, num_threads=1,
        shuffle_input_sentence=False, input_sentence_size=0, minloglevel=2)
    return buffer.getvalue()


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m dense.text.train_tokenizer', description=__doc__)
    parser.add_argument('--out', type=Path, default=SHIPPED_MODEL)
    parser.add_argument('--check', action='store_true', help='only compare a fresh training with --out')
    args = parser.parse_args(argv)
    model = train(corpus())
    if args.check:
        same = args.out.is_file() and args.out.read_bytes() == model
        print(f'{args.out}: {"identical to" if same else "DIFFERS from"} a fresh training')
        return 0 if same else 1
    from dense.io import write_bytes
    write_bytes(args.out, model)
    print(f'{args.out}: {len(model)} bytes, {SHIPPED_VOCAB} pieces')
    return 0


if __name__ == '__main__':
    sys.exit(main())
