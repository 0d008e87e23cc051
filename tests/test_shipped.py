"""Shipped scene-trained encoders: named variants whose default weights are the repository's files, verified
against the sha256 manifest; a corrupted or missing file is refused with a one-line error naming it."""
import json
import shutil

import pytest

from dense.encoders import CheckpointError, build_encoder
from dense.encoders.manifest import SHIPPED_ROOT, read_manifest, shipped_dir
from dense.io import sha256_files

SHIPPED = ('scenes-sigmoid', 'scenes-dense')


@pytest.mark.parametrize('name', SHIPPED)
def test_shipped_encoder_loads_its_verified_weights(name):
    files = read_manifest()[name]
    assert {'config.json', 'model.safetensors', 'tokenizer.model', 'tokenizer_config.json',
            'pretrain_config.py'} <= set(files)
    enc = build_encoder(name)
    assert enc.weights_sha256 == files['model.safetensors'] == sha256_files([SHIPPED_ROOT / name /
                                                                             'model.safetensors'])
    assert (SHIPPED_ROOT / name / 'model.safetensors').stat().st_size < 8e6
    assert json.loads((SHIPPED_ROOT / name / 'config.json').read_text())['model_type'] == 'siglip'
    random = build_encoder('scenes')
    assert random.weights_sha256 == 'random-init-seed0'
    assert any((a != b).any() for a, b in zip(enc.state_dict().values(), random.state_dict().values()))


def test_corrupted_or_missing_shipped_file_is_refused(tmp_path):
    root = tmp_path / 'shipped'
    shutil.copytree(SHIPPED_ROOT / 'scenes-sigmoid', root / 'scenes-sigmoid')
    shutil.copy(SHIPPED_ROOT / 'manifest.json', root / 'manifest.json')
    assert shipped_dir('scenes-sigmoid', root) == root / 'scenes-sigmoid'
    weights = root / 'scenes-sigmoid' / 'model.safetensors'
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match='model.safetensors: sha256 .* differs from the manifest'):
        shipped_dir('scenes-sigmoid', root)
    weights.unlink()
    with pytest.raises(CheckpointError, match='shipped file missing'):
        shipped_dir('scenes-sigmoid', root)
    with pytest.raises(CheckpointError, match="no shipped encoder 'nope'"):
        shipped_dir('nope', root)
