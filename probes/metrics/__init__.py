"""Metrics as small pure functions, each citing the definition it follows."""
from probes.metrics.segmentation import SegEvaluator, area_stats, iou_metrics

__all__ = ['SegEvaluator', 'area_stats', 'iou_metrics']
