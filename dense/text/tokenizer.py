"""SigLIP 2 text tokenization: the Gemma sentencepiece model, 64 tokens, lower-cased, sticky EOS, right padding.

big_vision's SigLIP 2 preprocessing (``lower`` then ``tok(length=64, eos='sticky')``, ``pp/ops_text.py``): the text is
lower-cased, tokenized without BOS, EOS (id 1) appended and kept when the text is cut to 63 tokens, then padded on the
right with pad (id 0). The text tower pools the last position, so padding side and pad id change the embedding.
transformers' ``Siglip2Tokenizer`` gives the same ids once ``padding_side='right'``, ``padding='max_length'``,
``max_length=64``, ``truncation=True`` (tests/test_text_tokenizer.py); its ``Lowercase`` normalizer lowers each
character alone (no final-sigma rule), which :func:`lower` reproduces.
"""
from __future__ import annotations

from pathlib import Path

import torch

TOKENIZER_FILES = ('tokenizer.model', 'spiece.model', 'tokenizer.json')


def lower(text: str) -> str:
    """Lower-case one character at a time, like the ``tokenizers`` Lowercase normalizer (``'Σ'`` -> ``'σ'``)."""
    return ''.join(c.lower() for c in text)


def find_tokenizer_file(path) -> Path | None:
    """The tokenizer file in a directory (sentencepiece model first, then ``tokenizer.json``), or the path itself."""
    path = Path(path).expanduser()
    if path.is_file():
        return path
    for name in TOKENIZER_FILES:
        if (path / name).is_file():
            return path / name
    return None


class SiglipTokenizer:
    """Texts -> ``int64[N, context]`` ids, from a sentencepiece ``.model`` or a ``tokenizer.json``.

    Args:
        path: A ``tokenizer.model`` / ``*.model`` (sentencepiece), a ``tokenizer.json``, or a directory holding one.
        context: Tokens per text (64 for every SigLIP 2 tower).

    Raises:
        FileNotFoundError: No tokenizer file there.
        ValueError: The file cannot be read, or has no pad / eos piece.
    """

    def __init__(self, path, context: int = 64):
        file = find_tokenizer_file(path)
        if file is None:
            raise FileNotFoundError(f'{path}: no tokenizer file ({" / ".join(TOKENIZER_FILES)}) found')
        self.path, self.context = file, context
        try:
            if file.suffix == '.json':
                from tokenizers import Tokenizer
                self._json = Tokenizer.from_file(str(file))
                self._json.no_truncation()
                self._json.no_padding()
                self.vocab_size = self._json.get_vocab_size(with_added_tokens=True)
                self.pad_id, self.eos_id = (self._json.token_to_id(t) for t in ('<pad>', '<eos>'))
            else:
                import sentencepiece as spm
                self._spm = spm.SentencePieceProcessor(model_file=str(file))
                self.vocab_size = self._spm.get_piece_size()
                self.pad_id, self.eos_id = self._spm.pad_id(), self._spm.eos_id()
        except Exception as e:  # sentencepiece / tokenizers raise their own types for a corrupt file
            raise ValueError(f'{file}: cannot read tokenizer ({type(e).__name__}: {str(e)[:200]})') from e
        if self.pad_id is None or self.eos_id is None or min(self.pad_id, self.eos_id) < 0:
            raise ValueError(f'{file}: tokenizer has no pad / eos piece (Gemma: <pad> = 0, <eos> = 1)')

    def encode(self, text: str) -> list:
        """Token ids of one lower-cased text, without special tokens."""
        if not isinstance(text, str):
            raise TypeError(f'texts must be strings, got {type(text).__name__}: {text!r}')
        text = lower(text)
        if hasattr(self, '_json'):
            return self._json.encode(text, add_special_tokens=False).ids
        return self._spm.encode(text)

    def __call__(self, texts) -> tuple:
        """``(ids int64[N, context], truncated: list[bool])``: EOS appended (kept if cut), pad on the right."""
        if isinstance(texts, str):
            raise TypeError('pass a list of texts, not one string')
        ids = torch.full((len(texts), self.context), self.pad_id, dtype=torch.int64)
        truncated = []
        for i, text in enumerate(texts):
            tokens = self.encode(text)
            truncated.append(len(tokens) > self.context - 1)
            tokens = tokens[:self.context - 1] + [self.eos_id]
            ids[i, :len(tokens)] = torch.tensor(tokens, dtype=torch.int64)
        return ids, truncated
