"""The model families, and the three calls the stages use: name a model, check it, load it.

Adding a family (a non-OpenCLIP model) is one module with ``knows``, ``check`` and ``load``
(`semlat.encoders.base.EncoderFamily`) plus one line in `FAMILIES`.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from semlat.device import resolve_device
from semlat.encoders import openclip
from semlat.encoders.base import Encoder, ModelSpec
from semlat.encoders.toy import TOY_MODEL, TOY_WEIGHTS
from semlat.errors import SemlatError
from semlat.types import FeatureKey

if TYPE_CHECKING:  # the encoders import without LanceDB (a GPU machine may lack it)
    from semlat.workspace import Workspace

FAMILIES: tuple[ModuleType, ...] = (openclip,)


def model_spec(name: str | None = None, pretrained: str | None = None) -> ModelSpec:
    """``name`` (None: ViT-B-16) with ``pretrained`` weights, or its default ones: the shipped file for the toy CLIP."""
    name = name or openclip.DEFAULT_MODEL
    if pretrained is not None:
        return ModelSpec(name, pretrained)
    if name == TOY_MODEL:
        return toy_model_spec()
    return ModelSpec(name, openclip.DEFAULT_PRETRAINED)


def toy_model_spec() -> ModelSpec:
    """The small CLIP trained on the toy world, shipped with the package (no download needed)."""
    if not TOY_WEIGHTS.is_file():
        raise SemlatError(f"the toy CLIP weights are missing from {TOY_WEIGHTS}: reinstall semlat or run `semlat toyworld train`")
    return ModelSpec(TOY_MODEL, str(TOY_WEIGHTS))


def _family(spec: ModelSpec) -> ModuleType:
    for family in FAMILIES:
        if family.knows(spec.name):
            return family
    raise SemlatError(
        f"unknown model {spec.name!r}: use an OpenCLIP architecture name (`python -c 'import open_clip; print(open_clip.list_models())'`)"
    )


def check_model(spec: ModelSpec) -> None:
    """Check ``spec`` can be loaded without loading it (cheap: a pipeline fails before it writes)."""
    _family(spec).check(spec)


def load_encoder(spec: ModelSpec, device: str | None = None) -> Encoder:
    """Load ``spec`` on ``device`` ("auto"/None: cuda if available)."""
    family = _family(spec)
    return family.load(spec, resolve_device(device))


def model_of_features(ws: Workspace, key: FeatureKey, override: ModelSpec | None = None) -> ModelSpec:
    """The model whose text tower matches ``key``'s image features (``override`` for imported features)."""
    if override is not None:
        return override
    record = ws.manifest.models.get(key.model_key)
    if record is None:
        raise SemlatError(
            f"features {key} were imported without a model: pass --model and --pretrained of the CLIP that made them"
        )
    spec = ModelSpec(record["name"], record["pretrained"])
    if spec.checkpoint() is not None and spec.key() != key.model_key:
        raise SemlatError(f"checkpoint {spec.pretrained} changed since the features were made: re-run `semlat embed`")
    return spec
