"""mmengine checkpoints that torch loads with ``weights_only=True`` and no allow-list.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``, so torch >= 2.6 loads with the safety on and
refuses the message hub's ``HistoryBuffer`` objects, whose pickles hold bound methods (``getattr`` on the buffer:
allow-listing ``getattr`` would reopen arbitrary code execution). The hook below keeps them out of the
checkpoint instead: the smoothed log scalars are dropped (logging only) and numpy scalars in the runtime info
become python numbers. What remains is tensors and plain containers, which ``weights_only`` accepts.
"""
from __future__ import annotations

import numpy as np
from mmengine.hooks import Hook

PLAIN = (str, int, float, bool, type(None))


def _plain(value):
    """``value`` as plain python data, or None when it has no plain form."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, PLAIN):
        return value
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return None if any(i is None and v is not None for i, v in zip(items, value)) else type(value)(items)
    return None


class WeightsOnlyCheckpointHook(Hook):
    """Strips what ``torch.load(weights_only=True)`` refuses from every checkpoint mmengine saves."""

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if hub is None:
            return
        runtime = {key: _plain(value) for key, value in hub['runtime_info'].items()}
        checkpoint['message_hub'] = dict(log_scalars={}, resumed_keys={},
                                         runtime_info={k: v for k, v in runtime.items() if v is not None})


def check_resume_checkpoint(work_dir) -> None:
    """Before ``--resume``: the checkpoint that ``<work_dir>/last_checkpoint`` names must exist and load with
    ``weights_only=True``; a truncated or hostile file is a one-line error naming it (not a traceback from inside
    mmengine)."""
    import pickle
    from pathlib import Path

    import torch
    pointer = Path(work_dir) / 'last_checkpoint'
    if not pointer.is_file():
        return  # nothing to resume: training starts from the beginning
    path = Path(pointer.read_text().strip())
    if not path.is_file():
        raise FileNotFoundError(f'{pointer} names {path}, which does not exist; delete {pointer} to start over')
    try:
        state = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        why = 'holds python objects besides tensors' if 'GLOBAL ' in str(err) else 'is damaged or truncated'
        raise ValueError(f'{path}: cannot resume: the checkpoint {why} and is not loaded; delete it (and '
                         f'{pointer}) to start over') from None
    except (RuntimeError, EOFError, OSError) as err:
        raise ValueError(f'{path}: cannot resume: unreadable checkpoint ({str(err).splitlines()[0][:120]}); it '
                         f'is truncated or not a checkpoint: delete it (and {pointer}) to start over') from None
    if not isinstance(state, dict) or 'state_dict' not in state:
        raise ValueError(f'{path}: cannot resume: not an mmengine checkpoint (no state_dict)')
