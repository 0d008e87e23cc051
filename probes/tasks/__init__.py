"""Task table: ``TASKS[name](**options)`` builds an object following the task protocol of docs/CONTRACTS.md.

A task has ``name``, ``build_head(kind, in_dims, pooled_dim, **opts)``, ``loss(head_out, batch)``,
``predict(head_out, size)``, ``new_evaluator()`` (``process(pred, batch)``, ``compute() -> dict``) and
``selection = (metric, 'max' | 'min')``: the metric that picks the best probe of a grid on the held-out split, and
``table_metrics``: the columns of its markdown table.
"""
from __future__ import annotations

from probes.tasks.depth import DepthTask
from probes.tasks.detection import DetectionTask
from probes.tasks.normals import NormalsTask
from probes.tasks.referring import ReferringTask
from probes.tasks.segmentation import SegmentationTask

TASKS: dict[str, type] = {
    'seg': SegmentationTask,
    'depth': DepthTask,
    'normals': NormalsTask,
    'det': DetectionTask,
    'ref': ReferringTask,
}


def build_task(name: str, **options):
    """Build the task registered as ``name`` with its options (e.g. ``num_classes``)."""
    if name not in TASKS:
        raise KeyError(f'unknown task {name!r}; known: {sorted(TASKS)}')
    return TASKS[name](**options)
