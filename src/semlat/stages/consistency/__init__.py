"""Semantic consistency across views: metrics and report, feature smoothing, merge & deletion of labels."""

from semlat.stages.consistency.metrics import LabelStats, Metrics, compute_metrics
from semlat.stages.consistency.refine import RefinePlan, plan_refinement, refine_labels
from semlat.stages.consistency.report import write_report
from semlat.stages.consistency.smooth import smooth_features

__all__ = [
    "LabelStats",
    "Metrics",
    "RefinePlan",
    "compute_metrics",
    "plan_refinement",
    "refine_labels",
    "smooth_features",
    "write_report",
]
