"""Tokenizer: ids equal transformers' Siglip2Tokenizer (right padding) from tokenizer.model and tokenizer.json; the
shipped sentencepiece model is reproducible; truncation keeps EOS and is stated; bad files give clear errors."""
import warnings

import pytest
import sentencepiece as spm
import torch
from test_text_parity import TEXTS, hf_tokenize, train_spm, write_tokenizer

from dense.text import SiglipTokenizer, build_text_encoder
from dense.text.tokenizer import lower
from dense.text.train_tokenizer import SHIPPED_MODEL, corpus, train


@pytest.fixture(scope='module')
def tok_dirs(tmp_path_factory):
    """The test model as ``tokenizer.model`` and as the ``tokenizer.json`` transformers writes from it."""
    from transformers import AutoTokenizer
    model_dir, json_dir = tmp_path_factory.mktemp('spm'), tmp_path_factory.mktemp('json')
    write_tokenizer(model_dir, train_spm())
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(json_dir)
    assert (json_dir / 'tokenizer.json').is_file() and not (json_dir / 'tokenizer.model').exists()
    return model_dir, json_dir


def boundary_texts(model_dir):
    """Texts of exactly 62, 63 and 64 tokens: the last one is the first that gets cut."""
    sp = spm.SentencePieceProcessor(model_file=str(model_dir / 'tokenizer.model'))
    words = ' '.join(['sphere'] * 80)
    pieces = sp.encode(words)
    out = [sp.decode(pieces[:n]) for n in (62, 63, 64)]
    assert [len(sp.encode(t)) for t in out] == [62, 63, 64]
    return out


def test_ids_equal_transformers(tok_dirs):
    model_dir, json_dir = tok_dirs
    texts = TEXTS + boundary_texts(model_dir) + ['UPPER Case', 'ΟΔΟΣ']
    ref = hf_tokenize(model_dir, texts)
    assert torch.equal(ref, hf_tokenize(json_dir, texts))
    for folder in (model_dir, json_dir):
        ids, truncated = SiglipTokenizer(folder)(texts)
        assert ids.dtype == torch.int64 and ids.shape == (len(texts), 64)
        assert torch.equal(ids, ref), folder
        assert truncated == [len(t) > 300 for t in TEXTS] + [False, False, True, False, False]
    ids = ref[len(TEXTS):len(TEXTS) + 3]
    assert ids[0, 62] == 1 and ids[0, 63] == 0  # 62 tokens + EOS, one pad
    assert ids[1, 63] == 1 and ids[2, 63] == 1  # 63 + EOS fits exactly; 64 is cut to 63 + EOS
    assert torch.equal(ids[1], ids[2])
    assert ref[2].tolist() == [1] + [0] * 63  # the empty text is EOS then padding


def test_lower_case_per_character():
    assert lower('ΟΔΟΣ İ ABC') == 'οδοσ i̇ abc'  # no final-sigma rule, as the tokenizers Lowercase normalizer
    ids, _ = SiglipTokenizer(SHIPPED_MODEL)(['A RED SPHERE', 'a red sphere'])
    assert torch.equal(ids[0], ids[1])


def test_shipped_model_is_reproducible():
    assert SHIPPED_MODEL.read_bytes() == train(corpus())
    sp = spm.SentencePieceProcessor(model_file=str(SHIPPED_MODEL))
    assert (sp.pad_id(), sp.eos_id(), sp.bos_id(), sp.unk_id(), sp.get_piece_size()) == (0, 1, 2, 3, 1024)
    assert len(sp.encode('the small red sphere left of the large blue box')) <= 11  # scene words are pieces


def test_truncation_is_stated():
    enc = build_text_encoder('test')
    with pytest.warns(UserWarning, match=r'1 text\(s\) longer than 64 tokens were cut to 64 \(EOS kept\)'):
        ids = enc.tokenize(['short', 'sphere ' * 100])
    assert ids[1, -1] == 1 and (ids[1] != 0).all()
    lengths = enc.token_lengths(['short', 'sphere ' * 100])
    assert lengths == [len(enc.tokenizer.encode(t)) + 1 for t in ('short', 'sphere ' * 100)] and lengths[1] > 64
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        enc.tokenize(['a short text'])


def test_bad_tokenizer_input(tmp_path):
    with pytest.raises(FileNotFoundError, match='no tokenizer file'):
        SiglipTokenizer(tmp_path)
    (tmp_path / 'tokenizer.model').write_bytes(b'not a model')
    with pytest.raises(ValueError, match='cannot read tokenizer'):
        SiglipTokenizer(tmp_path)
    tok = SiglipTokenizer(SHIPPED_MODEL)
    with pytest.raises(TypeError, match='list of texts'):
        tok('one string')
    with pytest.raises(TypeError, match='must be strings'):
        tok(['ok', None])


def test_real_variant_without_tokenizer_says_what_to_pass(tok_dirs):
    enc = build_text_encoder('siglip2-b16-224', device='meta')
    assert enc.tokenizer is None
    with pytest.raises(ValueError, match='pass weights= a HF SigLIP 2 directory or hub id, or tokenizer='):
        enc.encode_text(['a cat'])
    big = build_text_encoder('test', tokenizer=tok_dirs[0], vocab=64)  # ids beyond a 64-token vocabulary
    with pytest.raises(ValueError, match='outside the tower'):
        big.encode_text(['a photo of a table'])
