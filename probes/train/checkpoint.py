"""mmengine checkpoints that torch loads with ``weights_only=True`` and no allow-list.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``, so torch >= 2.6 loads with the safety on and
refuses the message hub's ``HistoryBuffer`` objects, whose pickles hold bound methods (``getattr`` on the buffer:
allow-listing ``getattr`` would reopen arbitrary code execution). The hook below keeps them out of the
checkpoint instead: the smoothed log scalars are dropped (logging only) and numpy scalars in the runtime info
become python numbers. What remains is tensors and plain containers, which ``weights_only`` accepts.
"""
from __future__ import annotations

import numbers

import numpy as np
from mmengine.hooks import Hook

PLAIN = (str, int, float, bool, type(None))


def _plain(value):
    """``value`` as plain python data, or None when it has no plain form."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, PLAIN) or isinstance(value, numbers.Integral):
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
