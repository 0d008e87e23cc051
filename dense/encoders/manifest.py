"""Encoders shipped in the repository (``dense/encoders/shipped/<name>/``) and their sha256 manifest.

Each shipped directory is a transformers ``SiglipModel`` checkpoint (``config.json``, ``model.safetensors``,
``tokenizer.model`` + ``tokenizer_config.json``) plus ``pretrain_config.py``, the config that trained it.
``manifest.json`` records the sha256 of every file; :func:`shipped_dir` refuses a directory whose files differ.
"""
from __future__ import annotations

import json
from pathlib import Path

from dense.io import sha256_files

from .checkpoint import CheckpointError

SHIPPED_ROOT = Path(__file__).resolve().parent / 'shipped'
MANIFEST = SHIPPED_ROOT / 'manifest.json'


def read_manifest(manifest: Path = MANIFEST) -> dict:
    """``{name: {file: sha256}}``; empty when nothing is shipped yet."""
    if not manifest.exists():
        return {}
    try:
        return json.loads(manifest.read_text())
    except ValueError as e:
        raise CheckpointError(f'{manifest}: not valid JSON ({e}); restore it with git checkout') from e


def shipped_dir(name: str, root: Path = SHIPPED_ROOT) -> Path:
    """The verified directory of shipped encoder ``name``.

    Raises:
        CheckpointError: The name is not in the manifest, a file is missing, or a file's sha256 differs from the
            manifest (a corrupted or edited file).
    """
    files = read_manifest(root / 'manifest.json').get(name)
    if files is None:
        raise CheckpointError(f'{root / "manifest.json"}: no shipped encoder {name!r}; train and ship it with '
                              f'sprobe pretrain CONFIG --ship {name}')
    for file, want in sorted(files.items()):
        path = root / name / file
        if not path.is_file():
            raise CheckpointError(f'{path}: shipped file missing; restore it with git checkout -- {path}')
        got = sha256_files([path])
        if got != want:
            raise CheckpointError(f'{path}: sha256 {got[:16]}... differs from the manifest ({want[:16]}...): the '
                                  f'file is corrupted; restore it with git checkout -- {path}')
    return root / name


def record(name: str, directory: Path, root: Path = SHIPPED_ROOT) -> Path:
    """Record the sha256 of every file in ``directory`` (which must be ``root / name``) in the manifest."""
    from dense.io import write_json
    manifest = read_manifest(root / 'manifest.json')
    manifest[name] = {f.name: sha256_files([f]) for f in sorted(Path(directory).iterdir()) if f.is_file()}
    return write_json(root / 'manifest.json', manifest, sort_keys=True)
