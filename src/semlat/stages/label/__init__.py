"""The label stage: cross-view labels (instances) for the regions of any backend."""

from semlat.stages.label.stage import METHODS, LabelResult, label_regions

__all__ = ["METHODS", "LabelResult", "label_regions"]
