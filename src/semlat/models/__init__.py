"""OpenCLIP architecture configs that ship with semlat, registered on first model load.

`semlat-tiny` is a plumbing-test architecture (random weights unless a checkpoint is given);
`semlat-toy` is the small CLIP trained on the toy world, whose weights ship in ``weights/``.
"""

from pathlib import Path

CONFIG_DIR = Path(__file__).parent / "configs"
TOY_WEIGHTS = Path(__file__).parent / "weights" / "semlat-toy.pt"
