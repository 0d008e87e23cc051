"""Probe specifications and grids: every probe is (task, head kind, layers, lr, pooled), named after them."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field


def format_lr(lr: float) -> str:
    """``1e-3`` -> ``'1e-3'``, ``2.5e-4`` -> ``'2p5e-4'`` (no dots: names are module keys)."""
    mantissa, exponent = f'{lr:.6e}'.split('e')
    mantissa = mantissa.rstrip('0').rstrip('.').replace('.', 'p')
    return f'{mantissa}e{int(exponent)}'


@dataclass(frozen=True)
class ProbeSpec:
    """One probe of a grid.

    Attributes:
        task: Task name in :data:`probes.tasks.TASKS`.
        head: Head kind in :data:`probes.heads.HEADS`.
        layers: Encoder block indices (non-negative) whose outputs feed the head, shallow to deep.
        lr: Learning rate of this probe's parameter group.
        pooled: Concatenate the pooled (MAP) embedding to every patch feature.
        head_opts: Extra head constructor options (e.g. DPT ``hidden_dim``), not part of the name.
    """

    task: str
    head: str
    layers: tuple[int, ...]
    lr: float
    pooled: bool = False
    head_opts: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def name(self) -> str:
        """E.g. ``seg/linear_l11_lr1e-3`` or ``seg/dpt_l2-5-8-11_lr5e-4_pool``."""
        layers = '-'.join(str(i) for i in self.layers)
        return f'{self.task}/{self.head}_l{layers}_lr{format_lr(self.lr)}' + ('_pool' if self.pooled else '')

    @property
    def group(self) -> str:
        """The family the best probe is chosen within: ``task/head`` (e.g. best linear vs best DPT)."""
        return f'{self.task}/{self.head}'


def resolve_layers(layers, depth: int) -> tuple[int, ...]:
    """Map negative block indices (``-1`` = last) to non-negative ones; raise on out-of-range indices."""
    out = []
    for index in layers:
        resolved = index + depth if index < 0 else index
        if not 0 <= resolved < depth:
            raise ValueError(f'layer index {index} out of range for an encoder with {depth} blocks')
        out.append(resolved)
    return tuple(out)


# google-deepmind/tips pytorch/TIPS_decoder_inference.ipynb INTERMEDIATE_LAYERS_MAP, by number of blocks:
# B [2, 5, 8, 11], L [5, 11, 17, 23], So [6, 13, 20, 26], g [9, 19, 29, 39]
TIPS_LAYERS = {12: (2, 5, 8, 11), 24: (5, 11, 17, 23), 27: (6, 13, 20, 26), 40: (9, 19, 29, 39)}


def tips_layers(depth: int, default_layers: tuple[int, ...]) -> tuple[int, ...]:
    """The 4 layers TIPS's decoders read for an encoder of ``depth`` blocks (else the quarter-depth default)."""
    return TIPS_LAYERS.get(depth, tuple(default_layers))


def expand_grid(grid: dict, depth: int, default_layers: tuple[int, ...]) -> list[ProbeSpec]:
    """Expand one grid entry into probes: every combination of ``heads`` x ``layers`` x ``lrs`` x ``pooled``.

    Args:
        grid: ``dict(task='seg', heads=['linear'], layers=[[-1], 'default'], lrs=[1e-3], pooled=[False],
            head_opts=dict(dpt=dict(hidden_dim=256)))``; a layer set ``'default'`` means the encoder's
            quarter-depth layers, ``'tips'`` TIPS's (:data:`TIPS_LAYERS`; So400m: 6, 13, 20, 26).
        depth: Number of encoder blocks (to resolve negative indices).
        default_layers: The encoder's default layers.
    """
    unknown = set(grid) - {'task', 'heads', 'layers', 'lrs', 'pooled', 'head_opts'}
    if unknown:
        raise ValueError(f'probe grid: unknown keys {sorted(unknown)}')
    layer_sets = [default_layers if ls == 'default' else tips_layers(depth, default_layers) if ls == 'tips'
                  else resolve_layers(ls, depth) for ls in grid.get('layers', ['default'])]
    head_opts = grid.get('head_opts', {})
    specs = [ProbeSpec(grid['task'], head, tuple(layers), float(lr), bool(pooled), dict(head_opts.get(head, {})))
             for head, layers, lr, pooled in itertools.product(
                 grid['heads'], layer_sets, grid['lrs'], grid.get('pooled', [False]))]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f'probe grid has duplicate probes: {names}')
    return specs
