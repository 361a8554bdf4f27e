"""semlat: region-level CLIP semantics for a folder of photos of one scene."""

from semlat.errors import SemlatError
from semlat.types import WHOLE_IMAGE, FeatureKey, ImageRecord, Region

__version__ = "0.1.0"
__all__ = ["WHOLE_IMAGE", "FeatureKey", "ImageRecord", "Region", "SemlatError", "__version__"]
