"""Image-text encoders behind one protocol: OpenCLIP (any architecture) and the shipped toy CLIP."""

from semlat.encoders.base import Encoder, ModelSpec
from semlat.encoders.openclip import DEFAULT_MODEL, DEFAULT_PRETRAINED, image_normalization, register_configs
from semlat.encoders.registry import check_model, load_encoder, model_of_features, model_spec, toy_model_spec
from semlat.encoders.toy import CONFIG_DIR, TINY_MODEL, TOY_MODEL, TOY_WEIGHTS
from semlat.encoders.views import STRATEGIES, Pixels, region_view, resize_center_crop

__all__ = [
    "CONFIG_DIR",
    "DEFAULT_MODEL",
    "DEFAULT_PRETRAINED",
    "STRATEGIES",
    "TINY_MODEL",
    "TOY_MODEL",
    "TOY_WEIGHTS",
    "Encoder",
    "ModelSpec",
    "check_model",
    "image_normalization",
    "load_encoder",
    "model_of_features",
    "model_spec",
    "Pixels",
    "region_view",
    "register_configs",
    "resize_center_crop",
    "toy_model_spec",
]
