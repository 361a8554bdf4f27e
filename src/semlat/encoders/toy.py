"""The models that ship inside semlat: their OpenCLIP configs and the toy CLIP's weights.

`semlat-toy` is the small CLIP trained on the toy world (`semlat_toy.train` makes the weights);
`semlat-tiny` is a plumbing-test architecture (random weights unless a checkpoint is given).
"""

from __future__ import annotations

from pathlib import Path

CONFIG_DIR = Path(__file__).parent / "configs"
TOY_MODEL = "semlat-toy"
TOY_WEIGHTS = Path(__file__).parent / "weights" / "semlat-toy.pt"
TINY_MODEL = "semlat-tiny"
