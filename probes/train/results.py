"""Run results as data: ``metrics.json`` (config hash, encoder, weight hash, versions, metrics) and tables."""
from __future__ import annotations

import hashlib
import json
import os
import platform
from pathlib import Path

import torch


def config_hash(config_text: str) -> str:
    """sha256 of the resolved config's text."""
    return hashlib.sha256(config_text.encode()).hexdigest()


def state_sha256(module: torch.nn.Module) -> str:
    """sha256 over a module's state dict (names, dtypes, shapes and bytes, in name order)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f'{name}:{t.dtype}:{tuple(t.shape)}'.encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b'')
    return digest.hexdigest()


def versions() -> dict[str, str]:
    """Versions of python and the libraries a result depends on."""
    import mmengine
    import mmseg
    import numpy
    import timm
    return {'python': platform.python_version(), 'torch': torch.__version__, 'timm': timm.__version__,
            'mmengine': mmengine.__version__, 'mmseg': mmseg.__version__, 'numpy': numpy.__version__}


def write_json_atomic(path: str | os.PathLike, data: dict) -> None:
    """Write JSON to a temporary name in the same directory, then rename (never half written)."""
    path = Path(path)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, allow_nan=True) + '\n')
    os.replace(tmp, path)


def markdown_table(results: dict, metrics: tuple[str, ...] = ('mIoU', 'mAcc', 'aAcc'), split: str = 'val') -> str:
    """Render one row per probe (the best of each family marked) from a ``metrics.json`` dict."""
    values = results['metrics'].get(split, {})
    probes = sorted({key.rsplit('/', 1)[0] for key in values})
    best = {b['probe'] for b in results.get('best', {}).values()}
    lines = [f'| probe ({split}) | ' + ' | '.join(metrics) + ' |', '|---|' + '---|' * len(metrics)]
    for probe in probes:
        cells = [f'{values[f"{probe}/{m}"]:.2f}' if f'{probe}/{m}' in values else '' for m in metrics]
        marker = ' (best)' if probe in best else ''
        lines.append(f'| {probe}{marker} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'
