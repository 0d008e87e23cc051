"""Ship a pretrained encoder: copy its HF directory into ``dense/encoders/shipped/NAME`` and record its sha256."""
from __future__ import annotations

from pathlib import Path

from dense.encoders.manifest import SHIPPED_ROOT, record
from dense.io import write_bytes

SHIPPED_FILES = ('config.json', 'model.safetensors', 'tokenizer.model', 'tokenizer_config.json',
                 'pretrain_config.py')


def ship(hf_dir: str | Path, name: str, root: Path = SHIPPED_ROOT) -> Path:
    """Copy the shipped files of ``hf_dir`` to ``root / name`` and update the manifest; returns the directory."""
    src = Path(hf_dir)
    missing = [f for f in SHIPPED_FILES if not (src / f).is_file()]
    if missing:
        raise FileNotFoundError(f'{src}: not a pretraining export (missing {", ".join(missing)})')
    for f in SHIPPED_FILES:
        write_bytes(root / name / f, (src / f).read_bytes())
    record(name, root / name, root)
    return root / name
