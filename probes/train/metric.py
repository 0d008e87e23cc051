"""Per-probe evaluation as one mmengine metric, and choosing the best probe of each family."""
from __future__ import annotations

import math

from mmengine.evaluator import BaseMetric

from probes.train.spec import ProbeSpec


class ProbeMetric(BaseMetric):
    """Feeds every probe's predictions to its task's evaluator; metric names are ``<probe name>/<metric>``.

    mmengine logs what ``compute_metrics`` returns: only each task's ``table_metrics`` (when it defines them),
    so per-class numbers do not flood the log; the complete dict of the last evaluation is ``self.last_metrics``.

    Args:
        tasks: Task objects by name.
        specs: The probes (their names key the predictions).
    """

    def __init__(self, tasks: dict, specs: list[ProbeSpec]):
        super().__init__(collect_device='cpu')
        self.tasks = tasks
        self.specs = {s.name: s for s in specs}
        self.last_metrics: dict[str, float] = {}
        self._reset()

    def _reset(self) -> None:
        self.evaluators = {name: self.tasks[s.task].new_evaluator() for name, s in self.specs.items()}

    def process(self, data_batch, data_samples) -> None:
        """Score one batch of ``ProbeModel`` predictions."""
        for sample in data_samples:
            for name, pred in sample['preds'].items():
                self.evaluators[name].process(pred, sample['batch'])
            # one entry per image, so mmengine's size bookkeeping matches the data set length
            self.results.extend([None] * len(sample['batch'].get('meta') or next(iter(sample['preds'].values()))))

    def evaluate(self, size: int) -> dict[str, float]:
        """Metrics over every rank's samples, each counted exactly once (``probes.train.dist``); raises when the
        number of samples seen differs from the data set's ``size`` (duplicated or dropped samples)."""
        from probes.train.dist import gather_evaluators
        self.evaluators, seen = gather_evaluators(self.evaluators, len(self.results))
        self.results.clear()
        if seen != size:
            raise ValueError(f'evaluation saw {seen} samples but the data set has {size}: the sampler pads or '
                             'drops samples (use DefaultSampler(round_up=False))')
        return self.compute_metrics([])

    def compute_metrics(self, results: list) -> dict[str, float]:
        """All probes' metrics, then fresh evaluators for the next round."""
        self.last_metrics = {f'{name}/{key}': value for name, evaluator in self.evaluators.items()
                             for key, value in evaluator.compute().items()}
        self._reset()
        return {key: value for key, value in self.last_metrics.items() if self._logged(key)}

    def _logged(self, key: str) -> bool:
        name, metric = key.rsplit('/', 1)
        shown = getattr(self.tasks[self.specs[name].task], 'table_metrics', None)
        return shown is None or metric in shown


def select_best(metrics: dict[str, float], specs: list[ProbeSpec], tasks: dict) -> dict[str, str]:
    """Best probe name per family (``task/head``) by the task's ``selection = (metric, 'max' | 'min')``.

    NaN scores never win; a family whose scores are all NaN gets its first probe.
    """
    best: dict[str, tuple[float, str]] = {}
    for spec in specs:
        key, direction = tasks[spec.task].selection
        score = metrics[f'{spec.name}/{key}']
        score = -math.inf if math.isnan(score) else (score if direction == 'max' else -score)
        if spec.group not in best or score > best[spec.group][0]:
            best[spec.group] = (score, spec.name)
    return {group: name for group, (_, name) in best.items()}
