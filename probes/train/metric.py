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

    default_prefix = ''  # names carry the probe; mmengine would warn about a missing prefix

    def __init__(self, tasks: dict, specs: list[ProbeSpec]):
        super().__init__(collect_device='cpu')
        self.tasks = tasks
        self.specs = {s.name: s for s in specs}
        self.last_metrics: dict[str, float] = {}
        self._reset()

    def _reset(self) -> None:
        self.evaluators = {name: self.tasks[s.task].new_evaluator() for name, s in self.specs.items()}
        self.first_image = None

    def process(self, data_batch, data_samples) -> None:
        """Score one batch of ``ProbeModel`` predictions."""
        for sample in data_samples:
            meta = sample['batch'].get('meta') or [{}]
            self.first_image = self.first_image or meta[0].get('img_path')
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
        self._check_scores()
        self._reset()
        return {key: value for key, value in self.last_metrics.items() if self._logged(key)}

    def _check_scores(self) -> None:
        """A dense task whose every probe scores NaN had no valid label pixel (all ignore / 0) or NaN
        predictions: an error naming the data, rather than a results file that picks a best among NaNs."""
        from probes.train.model import is_dense
        for task_name, task in self.tasks.items():
            key = task.selection[0]
            scores = [self.last_metrics.get(f'{name}/{key}') for name, s in self.specs.items() if s.task == task_name]
            if is_dense(task) and scores and all(v is None or math.isnan(v) for v in scores):
                where = f'the evaluated data (first image {self.first_image})' if self.first_image else 'the data'
                raise ValueError(f'{where}: every {task_name} probe scores {key} = NaN: no label pixel is valid '
                                 f'(all ignore / 0: check the labels and data_root), or the predictions are NaN')

    def _logged(self, key: str) -> bool:
        name, metric = key.rsplit('/', 1)
        shown = getattr(self.tasks[self.specs[name].task], 'table_metrics', None)
        return shown is None or metric in shown


def select_best(metrics: dict[str, float], specs: list[ProbeSpec], tasks: dict) -> dict[str, str]:
    """Best probe name per family (``task/head``) by the task's ``selection = (metric, 'max' | 'min')``.

    NaN scores never win (:meth:`ProbeMetric._check_scores` refuses a task whose scores are all NaN); a family
    whose scores are all NaN gets no entry.
    """
    best: dict[str, tuple[float, str]] = {}
    for spec in specs:
        key, direction = tasks[spec.task].selection
        score = metrics[f'{spec.name}/{key}']
        if score is None or math.isnan(score):
            continue
        score = score if direction == 'max' else -score
        if spec.group not in best or score > best[spec.group][0]:
            best[spec.group] = (score, spec.name)
    return {group: name for group, (_, name) in best.items()}
