"""Fused per-pixel features and their scores against prompts, computed on run lengths (never H×W×C)."""

from semlat.scoring.fusion import FUSIONS, SCORES, argmax_segmentation, score_maps, scores_from_cosines
from semlat.scoring.prompts import CANONICAL_PHRASES, parse_prompts

__all__ = ["CANONICAL_PHRASES", "FUSIONS", "SCORES", "argmax_segmentation", "parse_prompts", "score_maps", "scores_from_cosines"]
