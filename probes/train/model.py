"""The probe model: a frozen encoder (outside the module tree) and a ModuleDict of named probe heads."""
from __future__ import annotations

import contextlib

import torch
from mmengine.logging import MessageHub
from mmengine.model import BaseDataPreprocessor, BaseModel
from torch import nn

from dense.datasets.common import batch_image_size
from dense.extract import check_pixels
from probes.train.inference import infer_head_outputs
from probes.train.preprocess import encoder_input, feature_settings
from probes.train.spec import ProbeSpec

DENSE_LABEL_KEYS = ('seg', 'depth', 'normals')


def to_cpu(obj):
    """Tensors (also inside dicts, lists and tuples) moved to the CPU; anything else unchanged."""
    if isinstance(obj, torch.Tensor):
        return obj.cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def is_dense(task) -> bool:
    """Whether a task predicts per-pixel maps (test-time scales, flips and windows apply to it)."""
    return getattr(task, 'dense', True)


class BatchPreprocessor(BaseDataPreprocessor):
    """Moves the training batch dict to the model's device and hands it to ``forward(batch=...)``."""

    def __init__(self):
        super().__init__(non_blocking=True)  # copies from pinned host memory overlap with compute

    def forward(self, data: dict, training: bool = False) -> dict:
        """Return ``{'batch': data on device}``; the pixels are range-checked on the host, before the copy."""
        if torch.is_tensor(data.get('image')) and not data['image'].is_cuda:
            check_pixels(data['image'], 'training batch')
        return {'batch': self.cast_data(data)}


def label_size(batch: dict) -> tuple[int, int]:
    """The size predictions are scored at: that of the first label map in the batch, else the image's."""
    for key in DENSE_LABEL_KEYS:
        if key in batch:
            return tuple(batch[key].shape[-2:])
    return batch_image_size(batch)


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
        features: ``dict(norm_layers=False, preprocess='encoder' | 'probe3d', center_pad=False)``
            (:mod:`probes.train.preprocess`; defaults: raw block outputs of the encoder's own input).
    """

    def __init__(self, encoder: nn.Module, tasks: dict, specs: list[ProbeSpec], inference: dict | None = None,
                 features: dict | None = None):
        super().__init__(data_preprocessor=BatchPreprocessor())
        encoder.requires_grad_(False).eval()
        object.__setattr__(self, 'encoder', encoder)  # not a submodule: no params, no state_dict entries
        self.tasks = dict(tasks)
        missing = {s.task for s in specs} - set(self.tasks)
        if missing:
            raise ValueError(f'probes use tasks {sorted(missing)} that are not configured')
        self.specs = {s.name: s for s in specs}
        # the batch keys the evaluators read (each task's ``label_keys``; the dense maps by default)
        self.label_keys = tuple(sorted({k for t in self.tasks.values()
                                        for k in getattr(t, 'label_keys', DENSE_LABEL_KEYS)}))
        self.layers = tuple(sorted({i for s in specs for i in s.layers}))
        self.uses_pooled = any(s.pooled for s in specs)
        dim = encoder.embed_dim
        self.probes = nn.ModuleDict({
            s.name: self.tasks[s.task].build_head(s.head, [dim] * len(s.layers), dim if s.pooled else 0,
                                                  **s.head_opts)
            for s in specs})
        self.inference = {'mode': 'whole', 'scales': (1.0,), **(inference or {})}
        self.feature_settings = feature_settings(features)
        self.log_interval = 1  # iterations between logged losses (the runner sets the schedule's)

    def to(self, *args, **kwargs) -> 'ProbeModel':
        """Move the heads, the (unregistered) encoder and any frozen module a task holds (its ``to``)."""
        self.encoder.to(*args, **kwargs)
        for task in self.tasks.values():
            if hasattr(task, 'to'):
                task.to(*args, **kwargs)
        return super().to(*args, **kwargs)

    def features(self, x01: torch.Tensor | None, batch: dict | None = None,
                 with_pooled: bool = False) -> tuple[dict[int, torch.Tensor], torch.Tensor | None]:
        """One frozen encoder forward: float32 feature maps of every layer any probe uses, and the pooled output.

        Without images (``x01`` None) the features come from the batch (``batch['features']``, ``batch['pooled']``:
        a feature-cache batch, ``probes.train.cached``) and the encoder does not run. ``with_pooled``: return the
        pooled output also when no probe uses it (the cache stores it).
        """
        if x01 is None:
            return ({i: batch['features'][i].float() for i in self.layers},
                    batch['pooled'].float() if self.uses_pooled else None)
        autocast = (torch.autocast('cuda', dtype=torch.bfloat16) if x01.is_cuda else contextlib.nullcontext())
        # the final-LayerNorm option is passed only when set, so encoders without it keep working
        norm = {'norm': True} if self.feature_settings['norm_layers'] else {}
        with torch.no_grad(), autocast:
            out = self.encoder(encoder_input(self.encoder, x01, self.feature_settings), layers=self.layers, **norm)
        feats = {i: out.layers[i].float() for i in self.layers}
        pooled = out.pooled.float() if self.uses_pooled or with_pooled else None
        return feats, pooled

    def head_outputs(self, x01: torch.Tensor, batch: dict | None = None, names=None) -> dict:
        """The raw output of every probe (or of ``names``) for images ``x01`` in [0, 1].

        A task's ``head_inputs(batch) -> dict`` (optional; e.g. query text embeddings) is computed once per
        task and batch and passed to its heads as keyword arguments.
        """
        names = list(self.probes) if names is None else list(names)
        feats, pooled = self.features(x01, batch)
        extra = {}
        for task_name in {self.specs[n].task for n in names}:
            task = self.tasks[task_name]
            extra[task_name] = task.head_inputs(batch) if hasattr(task, 'head_inputs') else {}
        outputs = {}
        for name in names:
            spec = self.specs[name]
            outputs[name] = self.probes[name]([feats[i] for i in spec.layers], pooled if spec.pooled else None,
                                              **extra[spec.task])
        return outputs

    def unflip(self, name: str, out: torch.Tensor) -> torch.Tensor:
        """Probe ``name``'s output for a mirrored image, in the original frame (the task's ``unflip`` if any)."""
        task = self.tasks[self.specs[name].task]
        return task.unflip(out) if hasattr(task, 'unflip') else out.flip(-1)

    def merge(self, name: str, views: list[torch.Tensor]) -> torch.Tensor:
        """Probe ``name``'s test-time views merged (the task's ``merge_views`` if any, else their mean)."""
        task = self.tasks[self.specs[name].task]
        return task.merge_views(views) if hasattr(task, 'merge_views') else torch.stack(views).mean(0)

    def infer(self, x01: torch.Tensor, batch: dict | None = None) -> dict:
        """Every probe's output: dense tasks' with the inference settings (whole / slide, scales, flip), the
        others' (boxes, one box per expression) from one whole-image forward."""
        dense = [n for n, s in self.specs.items() if is_dense(self.tasks[s.task])]
        other = [n for n in self.specs if n not in dense]
        plain = self.inference.get('mode') == 'whole' and tuple(self.inference.get('scales', (1.0,))) == (1.0,) \
            and not self.inference.get('flip')
        if plain or not dense:
            return self.head_outputs(x01, batch)
        outputs = infer_head_outputs(lambda x: self.head_outputs(x, batch, dense), x01, unflip=self.unflip,
                                     merge=self.merge, **self.inference)
        return {**outputs, **(self.head_outputs(x01, batch, other) if other else {})}

    def parse_losses(self, losses: dict) -> tuple[torch.Tensor, dict]:
        """mmengine's loss sum; the logged values only every ``log_interval`` iterations (mmengine turns each
        into a python float, a host-device sync), so other training steps never wait for the GPU."""
        loss, log_vars = super().parse_losses(losses)
        iteration = MessageHub.get_current_instance().get_info('iter', 0)
        return loss, log_vars if (iteration + 1) % self.log_interval == 0 or iteration == 0 else {}

    def losses(self, outputs: dict, batch: dict) -> dict:
        """Every probe's loss; a task with ``losses(outputs, batch)`` scores all its probes in one call (the
        segmentation task: one fused resize + cross-entropy pass for a grid), the others one ``loss`` each."""
        losses = {}
        for task_name, task in self.tasks.items():
            names = [n for n in outputs if self.specs[n].task == task_name]
            if names and hasattr(task, 'losses'):
                losses.update(zip(names, task.losses([outputs[n] for n in names], batch)))
            else:
                losses.update((n, task.loss(outputs[n], batch)) for n in names)
        return {name: losses[name] for name in outputs}

    def forward(self, batch: dict, mode: str = 'loss'):
        """``'loss'``: dict of per-probe losses; ``'predict'``: ``[dict(preds={name: tensor}, batch=batch)]``."""
        if mode == 'loss':
            outputs = self.head_outputs(batch.get('image'), batch)  # no image: cached features
            return {f'loss_{name}': loss for name, loss in self.losses(outputs, batch).items()}
        if mode == 'predict':
            outputs = self.infer(batch['image'], batch)
            size = label_size(batch)
            preds = {name: to_cpu(self.tasks[self.specs[name].task].predict(out, size))
                     for name, out in outputs.items()}
            labels = {k: to_cpu(v) for k, v in batch.items() if k in self.label_keys}
            return [dict(preds=preds, batch=dict(labels, meta=batch.get('meta', [])))]
        raise ValueError(f"ProbeModel.forward: mode must be 'loss' or 'predict', got {mode!r}")
