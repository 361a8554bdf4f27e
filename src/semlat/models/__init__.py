"""OpenCLIP architecture configs that ship with semlat, registered on first model load.

`semlat-tiny` is a plumbing-test architecture (random weights unless a checkpoint is given).
"""

from pathlib import Path

CONFIG_DIR = Path(__file__).parent / "configs"
