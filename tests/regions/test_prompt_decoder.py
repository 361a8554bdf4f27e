"""The prompt-batched decoder gives what SAM's own MaskDecoder gives, in float32 and (close) in bfloat16."""

import numpy as np
import pytest
import torch
from segment_anything.modeling import MaskDecoder, PromptEncoder, TwoWayTransformer

from semlat.regions.sam import SamSpec, load_sam


class _Sam(torch.nn.Module):
    """segment-anything's decoder and prompt encoder (ViT-H/B/L share them) with random weights."""

    def __init__(self, depth: int = 2) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.prompt_encoder = PromptEncoder(
            embed_dim=256, image_embedding_size=(64, 64), input_image_size=(1024, 1024), mask_in_chans=16
        )
        self.mask_decoder = MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=depth, embedding_dim=256, mlp_dim=2048, num_heads=8),
            transformer_dim=256,
            iou_head_depth=3,
            iou_head_hidden_dim=256,
        )
        for parameter in self.parameters():  # a random decoder that is not near-constant
            parameter.data.normal_(0, 0.05)
        self.eval()


def _reference(sam, latent, points):
    """SAM's own path: prompt encoder, then MaskDecoder.forward with multimask output."""
    with torch.inference_mode():
        labels = torch.ones(points.shape[:2], dtype=torch.int)
        sparse, dense = sam.prompt_encoder(points=(points, labels), boxes=None, masks=None)
        logits, iou = sam.mask_decoder(
            image_embeddings=latent[None],
            image_pe=sam.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=True,
        )
    return sparse, logits, iou


def _ours(sam, latent, sparse, dtype=None):
    from semlat.regions.prompt_decoder import PromptDecoder

    decoder = PromptDecoder(sam, latent, dtype)
    tokens = decoder.tokens(sparse)
    return decoder.masks(tokens), decoder.iou(tokens)


@pytest.fixture(scope="module")
def mobile_sam():
    return load_sam(SamSpec.resolve("mobile-sam")).model


@pytest.mark.parametrize("which", ["segment-anything", "mobile-sam", "three layers"])
def test_the_logits_and_ious_are_sams_own(which, mobile_sam):
    """SAM's decoders have two layers; a third runs on its cells as they are (`PromptDecoder._image_to_token`)."""
    sam = {"segment-anything": _Sam(), "three layers": _Sam(depth=3)}.get(which, mobile_sam)
    generator = torch.Generator().manual_seed(1)
    latent = torch.randn(256, 64, 64, generator=generator) * 0.5
    points = torch.rand(6, 2, 2, generator=generator) * 1024  # two points per prompt: the padding token is added too
    sparse, logits, iou = _reference(sam, latent, points)
    our_logits, our_iou = _ours(sam, latent, sparse)
    assert our_logits.shape == logits.shape == (6, 3, 256, 256)
    scale = float(logits.abs().max())
    assert float((our_logits - logits).abs().max()) < 1e-4 * scale
    np.testing.assert_allclose(our_iou.numpy(), iou.numpy(), atol=1e-5)


@pytest.mark.parametrize(("depth", "factored"), [(2, True), (3, False)])
def test_two_layer_decoders_read_the_first_upscaling_product_from_the_updates(depth, factored):
    """SAM's decoders have two layers: their tokens carry the factors (`_FactoredUpscaling`); a third layer has none to read."""
    from semlat.regions.prompt_decoder import PromptDecoder

    latent = torch.randn(256, 64, 64, generator=torch.Generator().manual_seed(10)) * 0.5
    sam = _Sam(depth=depth)
    sparse, _, _ = _reference(sam, latent, torch.rand(2, 1, 2, generator=torch.Generator().manual_seed(11)) * 1024)
    factors = PromptDecoder(sam, latent).tokens(sparse).factors
    assert (factors is not None) == factored
    if factored:  # both layers' heads × tokens (5 output tokens, the point and its padding), and the norm's two terms
        assert factors.left.shape == (2, 2 * 8 * (5 + sparse.shape[1]) + 2, 4096) == (2, 114, 4096)


def test_a_subset_of_prompts_gets_the_same_masks_as_in_the_full_batch(mobile_sam):
    from semlat.regions.prompt_decoder import PromptDecoder

    latent = torch.randn(256, 64, 64, generator=torch.Generator().manual_seed(2)) * 0.5
    sparse, logits, _ = _reference(mobile_sam, latent, torch.rand(5, 1, 2, generator=torch.Generator().manual_seed(3)) * 1024)
    decoder = PromptDecoder(mobile_sam, latent)
    tokens = decoder.tokens(sparse)
    picked = torch.tensor([False, True, False, True, True])
    subset = decoder.masks(tokens[picked])
    assert subset.shape[0] == 3
    assert float((subset - logits[picked]).abs().max()) < 1e-4 * float(logits.abs().max())


def test_bfloat16_stays_close_to_float32(mobile_sam):
    latent = torch.randn(256, 64, 64, generator=torch.Generator().manual_seed(4)) * 0.5
    sparse, logits, iou = _reference(mobile_sam, latent, torch.rand(4, 1, 2, generator=torch.Generator().manual_seed(5)) * 1024)
    low_logits, low_iou = _ours(mobile_sam, latent, sparse, torch.bfloat16)
    assert low_logits.dtype == low_iou.dtype == torch.float32
    assert float((low_iou - iou).abs().max()) < 0.02  # the IoU head and the tokens stay float32
    agree = ((low_logits > 0) == (logits > 0)).float().mean()
    assert float(agree) > 0.99


@pytest.mark.parametrize("landscape", [True, False])
def test_masks_over_the_content_alone_are_the_full_grids_there(mobile_sam, landscape):
    from semlat.regions.prompt_decoder import PADDING_LOGIT, PromptDecoder

    latent = torch.randn(256, 64, 64, generator=torch.Generator().manual_seed(6)) * 0.5
    sparse, logits, _ = _reference(mobile_sam, latent, torch.rand(3, 1, 2, generator=torch.Generator().manual_seed(7)) * 1024)
    decoder = PromptDecoder(mobile_sam, latent)
    content = decoder.masks(decoder.tokens(sparse), content=(171, 256) if landscape else (256, 171))  # 3:2, 171 of 256
    if not landscape:
        content, logits = content.transpose(2, 3), logits.transpose(2, 3)
    rows = 4 * (43 + 1)  # the cells under the content and one more
    scale = float(logits.abs().max())
    assert float((content[:, :, :rows] - logits[:, :, :rows]).abs().max()) < 1e-4 * scale
    assert bool((content[:, :, rows:] == PADDING_LOGIT).all())


@pytest.mark.parametrize("chunk", [1, 2, 5])
def test_decode_in_chunks_filters_on_the_iou_and_gives_the_batchs_numbers(mobile_sam, chunk):
    from semlat.regions.prompt_decoder import PromptDecoder

    latent = torch.randn(256, 64, 64, generator=torch.Generator().manual_seed(8)) * 0.5
    sparse, logits, iou = _reference(mobile_sam, latent, torch.rand(5, 1, 2, generator=torch.Generator().manual_seed(9)) * 1024)
    best = iou.max(1).values.sort().values
    threshold = float(best[1:3].mean())  # between prompts: three pass, two do not
    decoded = PromptDecoder(mobile_sam, latent, chunk=chunk).decode(sparse, threshold)
    wanted = (iou > threshold).any(1)
    assert 0 < int(wanted.sum()) < 5
    assert torch.equal(decoded.wanted, wanted)
    np.testing.assert_allclose(decoded.iou.numpy(), iou.numpy(), atol=1e-5)
    assert float((decoded.logits - logits[wanted]).abs().max()) < 1e-4 * float(logits.abs().max())
    everything = PromptDecoder(mobile_sam, latent, chunk=chunk).decode(sparse, 0.0)
    assert bool(everything.wanted.all()) and everything.logits.shape == (5, 3, 256, 256)
