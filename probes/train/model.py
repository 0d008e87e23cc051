"""The probe model: a frozen encoder (outside the module tree) and a ModuleDict of named probe heads."""
from __future__ import annotations

import contextlib

import torch
from mmengine.model import BaseDataPreprocessor, BaseModel
from torch import nn

from probes.train.inference import infer_head_outputs
from probes.train.spec import ProbeSpec

LABEL_KEYS = ('seg', 'depth', 'normals')


class BatchPreprocessor(BaseDataPreprocessor):
    """Moves the training batch dict to the model's device and hands it to ``forward(batch=...)``."""

    def forward(self, data: dict, training: bool = False) -> dict:
        """Return ``{'batch': data on device}``."""
        return {'batch': self.cast_data(data)}


def label_size(batch: dict) -> tuple[int, int]:
    """The size predictions are scored at: that of the first label map in the batch, else the image's."""
    for key in LABEL_KEYS:
        if key in batch:
            return tuple(batch[key].shape[-2:])
    return tuple(batch['image'].shape[-2:])


class ProbeModel(BaseModel):
    """Trains many probes on one frozen encoder forward per batch.

    The encoder is kept out of the module tree, so ``parameters()``, ``state_dict()`` and therefore the
    optimizer and checkpoints hold the probe heads only. ``forward(batch, mode='loss')`` returns one
    ``loss_<probe name>`` per probe (mmengine sums them); ``mode='predict'`` returns per-probe predictions at
    the label size, produced with the inference settings (whole image / sliding window, scales).

    Args:
        encoder: Encoder following the contract (``normalize``, ``__call__(x, layers)``, ``embed_dim``).
        tasks: Task objects by name.
        specs: The probes.
        inference: ``dict(mode='whole' | 'slide', crop_size=(h, w), stride=(h, w), scales=(1.0,))``.
    """

    def __init__(self, encoder: nn.Module, tasks: dict, specs: list[ProbeSpec], inference: dict | None = None):
        super().__init__(data_preprocessor=BatchPreprocessor())
        encoder.requires_grad_(False).eval()
        object.__setattr__(self, 'encoder', encoder)  # not a submodule: no params, no state_dict entries
        self.tasks = dict(tasks)
        missing = {s.task for s in specs} - set(self.tasks)
        if missing:
            raise ValueError(f'probes use tasks {sorted(missing)} that are not configured')
        self.specs = {s.name: s for s in specs}
        self.layers = tuple(sorted({i for s in specs for i in s.layers}))
        self.uses_pooled = any(s.pooled for s in specs)
        dim = encoder.embed_dim
        self.probes = nn.ModuleDict({
            s.name: self.tasks[s.task].build_head(s.head, [dim] * len(s.layers), dim if s.pooled else 0,
                                                  **s.head_opts)
            for s in specs})
        self.inference = {'mode': 'whole', 'scales': (1.0,), **(inference or {})}

    def to(self, *args, **kwargs) -> 'ProbeModel':
        """Move the heads and the (unregistered) encoder."""
        self.encoder.to(*args, **kwargs)
        return super().to(*args, **kwargs)

    def features(self, x01: torch.Tensor) -> tuple[dict[int, torch.Tensor], torch.Tensor | None]:
        """One frozen encoder forward: float32 feature maps of every layer any probe uses, and the pooled output."""
        autocast = (torch.autocast('cuda', dtype=torch.bfloat16) if x01.is_cuda else contextlib.nullcontext())
        with torch.no_grad(), autocast:
            out = self.encoder(self.encoder.normalize(x01), layers=self.layers)
        feats = {i: out.layers[i].float() for i in self.layers}
        pooled = out.pooled.float() if self.uses_pooled else None
        return feats, pooled

    def head_outputs(self, x01: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every probe's raw output for images ``x01`` in [0, 1]."""
        feats, pooled = self.features(x01)
        return {name: head([feats[i] for i in self.specs[name].layers], pooled if self.specs[name].pooled else None)
                for name, head in self.probes.items()}

    def unflip(self, name: str, out: torch.Tensor) -> torch.Tensor:
        """Probe ``name``'s output for a mirrored image, in the original frame (the task's ``unflip`` if any)."""
        task = self.tasks[self.specs[name].task]
        return task.unflip(out) if hasattr(task, 'unflip') else out.flip(-1)

    def merge(self, name: str, views: list[torch.Tensor]) -> torch.Tensor:
        """Probe ``name``'s test-time views merged (the task's ``merge_views`` if any, else their mean)."""
        task = self.tasks[self.specs[name].task]
        return task.merge_views(views) if hasattr(task, 'merge_views') else torch.stack(views).mean(0)

    def infer(self, x01: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every probe's output with the inference settings (whole / slide, scales, flip)."""
        return infer_head_outputs(self.head_outputs, x01, unflip=self.unflip, merge=self.merge, **self.inference)

    def forward(self, batch: dict, mode: str = 'loss'):
        """``'loss'``: dict of per-probe losses; ``'predict'``: ``[dict(preds={name: tensor}, batch=batch)]``."""
        if mode == 'loss':
            outputs = self.head_outputs(batch['image'])
            return {f'loss_{name}': self.tasks[self.specs[name].task].loss(out, batch)
                    for name, out in outputs.items()}
        if mode == 'predict':
            outputs = self.infer(batch['image'])
            size = label_size(batch)
            preds = {name: self.tasks[self.specs[name].task].predict(out, size).cpu()
                     for name, out in outputs.items()}
            labels = {k: v.cpu() for k, v in batch.items() if k in LABEL_KEYS}
            return [dict(preds=preds, batch=dict(labels, meta=batch.get('meta', [])))]
        raise ValueError(f"ProbeModel.forward: mode must be 'loss' or 'predict', got {mode!r}")
