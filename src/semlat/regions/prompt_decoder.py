"""SAM's mask decoder for many prompts on one image, with the image-sized work shared or folded away.

segment-anything's ``MaskDecoder`` copies the image latent once per prompt and, in every cross
attention, projects all 4096 latent cells of every copy to queries, keys and values before they
meet the prompt's 7 tokens. On a CPU that is ~1.8 GMAC and ~100 ms per prompt, nearly all of an
automatic run. Attention is linear in those projections, so the same numbers come out (exact
algebra, float rounding aside) when the work is arranged by what differs between prompts:

* first layer: every prompt meets the same image, so its keys, values and queries are projected
  once per image and each prompt only multiplies its tokens with them, head by head
  (`_SharedImage`); its token side (and the second layer's self attention) runs over a whole
  batch at once, since nothing in it differs per cell (`PromptDecoder._first_layer`);
* second layer: its cells are the norm of the shared image plus the first layer's update, whose
  rank is the prompt's heads × tokens (56). Every product with them splits into the shared
  image's projection (once per image), a (56 × 56) product through the update's attention, and
  a per-cell scale from the norm (`_Factored`): a third of the multiply-adds of folding the
  projections into the tokens;
* later layers and the final attention, whose cells are simply per prompt: token → image
  ``q·(W_k x + b_k)ᵀ = (q W_k)·xᵀ + q·b_k`` and ``softmax(·)(W_v x + b_v) = (softmax(·) x) W_vᵀ
  + b_v`` (attention rows sum to one), so no (cells × 128) key or value is formed; image → token
  folds the query projection into the tokens' keys and the output projection into their values;
  the final attention runs for the four output tokens that are read (IoU and multimask tokens);
* the mask upscaling (two transposed convolutions at 128² and 256²) runs only for the prompts
  a caller asks for: the predicted IoUs come from the tokens alone, so prompts whose three
  outputs all fail the IoU filter never get masks;
* the upscaling is per cell (2×2 stride-2 transposed convolutions, a per-pixel norm and GELU),
  so it runs only over the cells that hold image content (plus one): SAM's postprocess crops
  the padding of a non-square image away anyway (a third of the work for a 4:3 photo). Each
  convolution is a matrix product per pixel, run on blocks of cells small enough that the 32
  channels of their 16 pixels each meet the hypernetworks' product in cache (`_Upscaling`);
  the first product is read from the two layers' updates (rank 56 each) and the shared image's
  product, as the second layer's attention is (`_FactoredUpscaling`);
* on a CPU prompts go through in chunks of `CPU_CHUNK`: one chunk's (cells × channels) image
  side stays in cache between the ops (see ``benchmarks/results/decoder_floor.json``).

Everything else (self attention, MLPs, norms, hypernetworks, IoU head) is the model's own
modules, called as they are; the upscaling uses its modules' own weights, norm and GELUs.
``tests/regions/test_prompt_decoder.py`` checks the output against ``MaskDecoder`` itself. Why by hand: no library ships a prompt-batched SAM decoder for the CPU.
"""

from __future__ import annotations

import copy
import math
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

CPU_CHUNK = 4
"""Prompts per pass through the decoder on a CPU (see the module docstring); other devices take a whole batch."""

UPSCALE_BLOCK = 512
"""Latent cells (over a batch) upscaled at a time on a CPU: their 16 × 32 output channels (1 MiB in float32) stay in a core's cache."""

PADDING_LOGIT = -1e4
"""The low-resolution logit given to cells beyond the image content: nothing there."""


@dataclass
class Tokens:
    """The transformer's outputs for a batch of B prompts."""

    queries: torch.Tensor
    """(B, 4, C) the IoU token and the three multimask tokens after the final attention."""
    keys: torch.Tensor
    """(B, N, C) image cells after the transformer."""
    factors: _CellFactors | None = None
    """The cells' first upscaling product in factored form (SAM's two-layer decoders; `_FactoredUpscaling`)."""

    def __len__(self) -> int:
        return len(self.queries)

    def __getitem__(self, index: torch.Tensor) -> Tokens:
        """The prompts picked by a boolean or integer index."""
        factors = None if self.factors is None else self.factors[index]
        return Tokens(self.queries[index], self.keys[index], factors)


@dataclass
class Decoded:
    """A batch of prompts decoded with an IoU filter (`PromptDecoder.decode`)."""

    iou: torch.Tensor
    """(B, 3) predicted IoUs of every prompt's three outputs, float32 on the CPU."""
    wanted: torch.Tensor
    """(B,) the prompts with an output above the IoU threshold: the only ones given masks."""
    logits: torch.Tensor
    """(W, 3, 256, 256) float32 low-resolution logits of the wanted prompts, on the decoder's device.

    A view of the decoder's buffer, overwritten by its next `PromptDecoder.decode` on the same
    thread: copy what is kept. Threads may decode at once (each has its buffer).
    """


class PromptDecoder:
    """One image's latent, ready to decode batches of prompts (see the module docstring).

    Args:
        sam: the ``Sam`` module (segment-anything or MobileSAM).
        latent: (C, 64, 64) image embedding on the model's device.
        dtype: the arithmetic of the image side (the 4096 cells: their products with the tokens,
            their norms, the mask upscaling): ``torch.bfloat16`` runs those in a bfloat16 copy of
            the decoder's modules (about twice as fast on CPUs with AVX-512 BF16 and on GPUs);
            the tokens (self attention, MLPs, IoU head, hypernetworks: a few hundredths of the
            work) stay in the model's float32, which keeps the predicted IoUs several times
            closer to float32's than bfloat16 throughout did. None: float32 throughout.
        chunk: prompts per pass in `decode`; None: `CPU_CHUNK` on a CPU, a whole batch elsewhere.
    """

    def __init__(
        self, sam: torch.nn.Module, latent: torch.Tensor, dtype: torch.dtype | None = None, chunk: int | None = None
    ) -> None:
        import torch

        self.decoder = sam.mask_decoder  # the token side
        self.cells = _decoder_in(sam.mask_decoder, dtype)  # its copy for the image side, in ``dtype``
        self.dtype = next(self.cells.parameters()).dtype
        self.chunk = chunk or (CPU_CHUNK if latent.device.type == "cpu" else None)
        with torch.inference_mode():
            dense = sam.prompt_encoder.no_mask_embed.weight.reshape(-1, 1, 1)
            image = (latent + dense).flatten(1).T.float()  # (N, C): the same for every prompt
            pe = sam.prompt_encoder.get_dense_pe()[0].flatten(1).T.float()  # (N, C)
            self.image, self.pe = image.to(self.dtype).contiguous(), pe.to(self.dtype).contiguous()
            layers = self.decoder.transformer.layers
            self._shared = _SharedImage(layers[0], image, pe, self.image)
            self._pe_float = pe
            self._pe_keys_of: dict[torch.nn.Module, torch.Tensor] = {}
            self._buffers = threading.local()  # `decode`'s output per thread, reused: fresh memory is paged in at first touch
            self._factored = _Factored(layers[0].norm4, layers[1], image, pe, self.dtype) if len(layers) > 1 else None
            self._upscaling = _Upscaling(self.cells.output_upscaling, UPSCALE_BLOCK if latent.device.type == "cpu" else None)
            self._factored_upscaling = (
                _FactoredUpscaling(layers[0].norm4, layers[1].norm4, self.decoder.output_upscaling[0], image, self.dtype)
                if len(layers) == 2
                else None
            )

    def decode(self, sparse: torch.Tensor, iou_thresh: float, content: tuple[int, int] | None = None) -> Decoded:
        """IoUs of prompts with sparse embeddings (B, P, C), and the logits of those passing ``iou_thresh``.

        Args:
            sparse: the prompt encoder's sparse embeddings.
            iou_thresh: prompts with no output above this get no masks (0 or less: all get them).
            content: (rows, columns) of the 256 grid that hold image content; see `masks`.
        """
        import torch

        ious, wanted = [], []
        logits = getattr(self._buffers, "logits", None)  # the wanted ones, packed
        if logits is None or len(logits) < len(sparse):
            logits = self._buffers.logits = torch.empty((len(sparse), 3, 256, 256), device=self.image.device)
        filled = 0
        step = self.chunk or len(sparse)
        prompts = self._first_layer(sparse)  # the whole batch: no cell differs per prompt there
        for first in range(0, len(sparse), step):
            tokens = self._after_first_layer(prompts.rows(first, first + step))
            iou = self.iou(tokens).cpu()
            keep = (iou > iou_thresh).any(1) if iou_thresh > 0 else torch.ones(len(iou), dtype=torch.bool)
            ious.append(iou)
            wanted.append(keep)
            count = int(keep.sum())
            if count:
                picked = tokens if count == len(keep) else tokens[keep.to(tokens.keys.device)]
                self.masks(picked, content=content, out=logits[filled : filled + count])
                filled += count
        return Decoded(torch.cat(ious), torch.cat(wanted), logits[:filled])

    def tokens(self, sparse: torch.Tensor) -> Tokens:
        """Run the two-way transformer for prompts with sparse embeddings (B, P, C).

        The first layer meets the shared image (`_SharedImage`), the second the first layer's
        update of it in factored form (`_Update`, `_Factored`); any later layer and the final
        attention meet the cells as they are. The final attention runs for the IoU token and the
        three multimask tokens alone: the single-mask token's and the prompt tokens' outputs are
        never read (SAM's automatic mode asks for the multimask outputs only).
        """
        return self._after_first_layer(self._first_layer(sparse))

    def _first_layer(self, sparse: torch.Tensor) -> _FirstLayer:
        """The token side of the first layer and the second layer's self attention, for a whole batch.

        Up to the first layer's image → token update no cell differs between prompts, so this runs
        over all prompts at once: its many small products (28 rows a chunk) read their weights
        once a batch instead of once a chunk.
        """
        import torch

        decoder, layers = self.decoder, self.decoder.transformer.layers
        with torch.inference_mode():
            output_tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], 0)
            prompt_pe = torch.cat([output_tokens.expand(len(sparse), -1, -1), sparse.float()], 1)
            layer = layers[0]
            queries = _self_attention(layer, prompt_pe, prompt_pe)
            queries = layer.norm2(queries + self._shared.token_to_image(layer.cross_attn_token_to_image, queries + prompt_pe))
            queries = layer.norm3(queries + layer.mlp(queries))
            to_token = layer.cross_attn_image_to_token
            keys = _head_major(to_token.k_proj(queries + prompt_pe), to_token.num_heads).to(self.dtype)
            values = _values_out(to_token, queries)
            if len(layers) > 1:
                queries = _self_attention(layers[1], queries, prompt_pe)
            return _FirstLayer(prompt_pe, queries, keys, values)

    def _after_first_layer(self, prompts: _FirstLayer) -> Tokens:
        """The rest of the transformer for prompts through `_first_layer`, from the first per-prompt cells on."""
        import torch

        decoder, transformer = self.decoder, self.decoder.transformer
        cell_layers = self.cells.transformer.layers
        with torch.inference_mode():
            update = self._shared.image_to_token(prompts.keys, prompts.values, cell_layers[0].norm4)
            keys, queries, prompt_pe = update.keys, prompts.queries, prompts.prompt_pe
            factors = None
            for index in range(1, len(transformer.layers)):
                layer, cell_layer = transformer.layers[index], cell_layers[index]
                if index > 1:  # the second layer's self attention ran with the first layer
                    queries = _self_attention(layer, queries, prompt_pe)
                to_image, to_token = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
                if index == 1:
                    attn_out = self._factored.token_to_image(to_image, queries + prompt_pe, update)
                else:
                    attn_out = self._token_to_image(to_image, queries + prompt_pe, keys)
                queries = layer.norm2(queries + attn_out)
                queries = layer.norm3(queries + layer.mlp(queries))
                if index == 1:
                    cells, attn, values = self._factored.image_to_token(to_token, queries + prompt_pe, queries, update)
                    norm = cell_layer.norm4
                    keys, mean, rstd = torch.native_layer_norm(cells, (cells.shape[-1],), norm.weight, norm.bias, norm.eps)
                    if (
                        self._factored_upscaling is not None and 2 * len(values[0]) + 2 < values.shape[-1]
                    ):  # narrower than the cells
                        factors = self._factored_upscaling.factors(update, attn, values, mean, rstd)
                else:
                    keys = cell_layer.norm4(self._image_to_token(to_token, queries + prompt_pe, queries, keys, keys + self.pe))
            read = [0, *range(2, 1 + decoder.num_mask_tokens)]  # the IoU token and the multimask tokens
            queries, prompt_pe = queries[:, read], prompt_pe[:, read]
            attn_out = self._token_to_image(transformer.final_attn_token_to_image, queries + prompt_pe, keys)
            queries = transformer.norm_final_attn(queries + attn_out)
            return Tokens(queries, keys, factors)

    def iou(self, tokens: Tokens) -> torch.Tensor:
        """(B, 3) predicted IoUs of the three multimask outputs."""
        import torch

        with torch.inference_mode():
            return self.decoder.iou_prediction_head(tokens.queries[:, 0]).float()[:, 1:]

    def masks(
        self,
        tokens: Tokens,
        content: tuple[int, int] | None = None,
        out: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, 3, 256, 256) low-resolution logits of the three multimask outputs.

        The upscaling is the model's own layers, in the order they run, as matrix products per
        latent cell (`_Upscaling`): each output pixel depends on its own cell alone, so the cells
        go through in blocks of `UPSCALE_BLOCK` (over the batch) on a CPU and the 16 × 32 channels
        a cell grows into never leave the core's cache before the hypernetworks' product reduces
        them to 3 logits. With ``content`` (rows, columns of the 256 grid holding the image), only
        the latent cells under it and one more row and column are upscaled; the rest read
        `PADDING_LOGIT`, so bilinear upsampling near the content's edge still sees true logits.
        ``out``: a float32 tensor of the result's shape to write into.
        """
        import torch

        decoder = self.decoder
        with torch.inference_mode():
            b, n, c = tokens.keys.shape
            side = math.isqrt(n)
            scale = 256 // side
            rows, cols = (
                (side, side)
                if content is None
                else (min(side, -(-content[0] // scale) + 1), min(side, -(-content[1] // scale) + 1))
            )
            outputs = range(1, decoder.num_mask_tokens)  # token i of `Tokens.queries` is mask token i
            hyper = torch.stack([decoder.output_hypernetworks_mlps[i](tokens.queries[:, i]) for i in outputs], 1)
            if tokens.factors is not None:  # only `_FactoredUpscaling` makes them
                first = self._factored_upscaling.products(tokens.factors, side, rows, cols)
            else:
                first = self._upscaling.products(tokens.keys.view(b, side, side, c)[:, :rows, :cols].reshape(b, rows * cols, c))
            per_cell = self._upscaling(first, rows * cols, hyper.to(self.dtype))  # (B, outputs, cells · 16)
            if out is None:
                out = torch.empty((b, len(outputs), 256, 256), device=hyper.device)
            h, w = rows * scale, cols * scale
            # a cell's 16 pixels come as (column, row) of the first convolution, (row, column) of the second
            pixels = per_cell.view(b, len(outputs), rows, cols * 2, 4, 2)  # (row, [column, column 1], [row 1, row 2], column 2)
            out[:, :, :h, :w] = pixels.permute(0, 1, 2, 4, 3, 5).reshape(b, len(outputs), h, w)
            out[:, :, h:] = PADDING_LOGIT
            out[:, :, :h, w:] = PADDING_LOGIT
            return out

    def _token_to_image(self, attention, q_in: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """``attention(q=q_in, k=keys + pe, v=keys)`` with the key and value projections folded into the tokens.

        The key bias adds the same number to all of a token's scores, so the softmax drops it. The
        positional encoding's keys are the same for every prompt: projected once per attention
        (`_pe_keys`), they join the scores as a per-head product, and ``keys + pe`` is never formed.
        """
        import torch

        heads = attention.num_heads
        q = attention.q_proj(q_in)  # (B, T, I)
        b, t, internal = q.shape
        d = internal // heads
        by_head = _head_major(q, heads)  # (H, BT, d)
        qh = _token_major(by_head, b)  # (B, H, T, d)
        folded = torch.einsum("bhtd,hdc->bhtc", qh, attention.k_proj.weight.view(heads, d, -1))  # (B, H, T, C)
        folded = folded.reshape(b, heads * t, -1).to(self.dtype)
        scores = (folded @ keys.transpose(1, 2)).view(b, heads, t, -1)  # (B, H, T, N)
        scores += _token_major(by_head.to(self.dtype) @ self._pe_keys(attention), b)
        attn = torch.softmax(scores.view(b, heads * t, -1), dim=-1)  # (B, HT, N)
        mixed = (attn @ keys).view(b, heads, t, -1).float()  # (B, H, T, C)
        w_v = attention.v_proj.weight.view(heads, d, -1)  # (H, d, C)
        out = torch.einsum("bhtc,hdc->bthd", mixed, w_v).reshape(b, t, internal) + attention.v_proj.bias
        return attention.out_proj(out)

    def _pe_keys(self, attention) -> torch.Tensor:
        """(H, d, N) the positional encoding's keys for ``attention`` (bias left out: the softmax drops it), made once (threads racing to make it make the same)."""
        if attention not in self._pe_keys_of:
            pe = self._pe_float @ attention.k_proj.weight.T
            self._pe_keys_of[attention] = _by_head(pe, attention.num_heads).to(self.dtype)
        return self._pe_keys_of[attention]

    def _image_to_token(
        self, attention, k_in: torch.Tensor, v_in: torch.Tensor, keys: torch.Tensor, keys_pe: torch.Tensor
    ) -> torch.Tensor:
        """``keys + attention(q=keys + pe, k=k_in, v=v_in)`` with the image-side projections folded into the tokens."""
        import torch

        heads = attention.num_heads
        k = attention.k_proj(k_in)
        b, t, internal = k.shape
        d = internal // heads
        kh = k.view(b, t, heads, d).transpose(1, 2) / math.sqrt(d)  # (B, H, T, d)
        folded = (kh @ attention.q_proj.weight.view(heads, d, -1)).reshape(b, heads * t, -1).to(self.dtype)  # (B, HT, C)
        bias = (kh @ attention.q_proj.bias.view(heads, d, 1)).reshape(b, heads * t, 1).to(self.dtype)  # (B, HT, 1)
        scores = folded @ keys_pe.transpose(1, 2) + bias  # (B, HT, N)
        attn = torch.softmax(scores.view(b, heads, t, -1), dim=2).view(b, heads * t, -1)  # over the tokens
        return torch.baddbmm(keys, attn.transpose(1, 2), _values_out(attention, v_in).to(self.dtype))  # (B, N, C)


def _self_attention(layer, queries: torch.Tensor, prompt_pe: torch.Tensor) -> torch.Tensor:
    """A two-way layer's self attention over the (B, T, C) tokens, and its norm (as ``TwoWayAttentionBlock`` runs it)."""
    if layer.skip_first_layer_pe:
        return layer.norm1(layer.self_attn(q=queries, k=queries, v=queries))
    q = queries + prompt_pe
    return layer.norm1(queries + layer.self_attn(q=q, k=q, v=queries))


def _by_head(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(N, I) cells' projections → (H, d, N): each head's (d × cells) factor of a score product."""
    n, internal = x.shape
    return x.view(n, heads, internal // heads).permute(1, 2, 0).contiguous()


def _head_major(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, T, I) tokens' projections → (H, B·T, d), scaled by 1/√d: the left factor of a per-head product with cells."""
    b, t, internal = x.shape
    d = internal // heads
    return x.view(b, t, heads, d).permute(2, 0, 1, 3).reshape(heads, b * t, d) / math.sqrt(d)


def _token_major(x: torch.Tensor, b: int) -> torch.Tensor:
    """(H, B·T, K) → its (B, H, T, K) view."""
    heads, bt, k = x.shape
    return x.view(heads, b, bt // b, k).transpose(0, 1)


def _values_out(attention, v_in: torch.Tensor) -> torch.Tensor:
    """(B, H·T, C) the tokens' values through the output projection, its bias split over the heads (each head's weights sum to one)."""
    import torch

    heads = attention.num_heads
    v = attention.v_proj(v_in)
    b, t, internal = v.shape
    v = v.view(b, t, heads, internal // heads)  # (B, T, H, d)
    w_o = attention.out_proj.weight.view(-1, heads, internal // heads)  # (C, H, d)
    return torch.einsum("bthd,chd->bhtc", v, w_o).reshape(b, heads * t, -1) + attention.out_proj.bias / heads


@dataclass
class _FirstLayer:
    """A batch of prompts through `PromptDecoder._first_layer`: everything before their first per-prompt cells."""

    prompt_pe: torch.Tensor
    """(B, T, C) the tokens as they entered (their positional encoding in every layer)."""
    queries: torch.Tensor
    """(B, T, C) the tokens after the first layer (and the second layer's self attention, when there is one)."""
    keys: torch.Tensor
    """(H, B·T, d) the first layer's image → token keys (`_head_major`), in the image side's dtype."""
    values: torch.Tensor
    """(B, H·T, C) its values through the output projection (`_values_out`), float32."""

    def rows(self, first: int, last: int) -> _FirstLayer:
        """Prompts ``first`` to ``last`` (exclusive)."""
        t = self.prompt_pe.shape[1]
        keys = self.keys[:, first * t : last * t]
        return _FirstLayer(self.prompt_pe[first:last], self.queries[first:last], keys, self.values[first:last])


@dataclass
class _Update:
    """The cells after the first layer, for B prompts: the shared image plus its image → token update, normed.

    ``keys = rstd ∘ (centred + attnᵀ · values) ∘ γ + β`` per cell, ``centred`` being the shared image
    less each cell's mean and ``values`` centred alike (a cell's mean of ``attnᵀ · values`` is
    ``attnᵀ`` times the values' means, so the norm's mean needs no term of its own and nothing
    large cancels). `_Factored` reads the second layer's products from these factors.
    """

    keys: torch.Tensor
    """(B, N, C) the cells after the norm, in the image side's dtype."""
    attn: torch.Tensor
    """(B, H·T, N) each cell's attention over the prompt's heads and tokens."""
    values: torch.Tensor
    """(B, H·T, C) float32 values (output projection folded in), centred per row."""
    rstd: torch.Tensor
    """(B, 1, N) the norm's reciprocal standard deviation per cell."""


class _SharedImage:
    """The first layer's cross attentions, where every prompt meets the same image.

    The image's keys, values and queries are projected once per image, so per prompt only its
    tokens' (heads · 16)-wide products with them are left: a sixteenth of the folded products'
    work (`PromptDecoder._token_to_image`), which would fold the projections into each prompt.
    """

    def __init__(self, layer, image: torch.Tensor, pe: torch.Tensor, image_in: torch.Tensor) -> None:
        to_image, to_token = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
        dtype = image_in.dtype
        self.image = image_in  # (N, C), the base of the update
        self.keys = _by_head(to_image.k_proj(image + pe), to_image.num_heads).to(dtype)  # (H, d, N)
        self.values = _by_head(to_image.v_proj(image), to_image.num_heads).transpose(1, 2).contiguous().to(dtype)
        self.queries = _by_head(to_token.q_proj(image + pe), to_token.num_heads).to(dtype)  # (H, d, N)

    def token_to_image(self, attention, q_in: torch.Tensor) -> torch.Tensor:
        """``attention(q=q_in, k=image + pe, v=image)`` for (B, T, C) tokens."""
        import torch

        b, t, _ = q_in.shape
        q = _head_major(attention.q_proj(q_in), attention.num_heads).to(self.keys.dtype)  # (H, BT, d)
        mixed = torch.softmax(q @ self.keys, dim=-1) @ self.values  # (H, BT, d)
        return attention.out_proj(_token_major(mixed.float(), b).transpose(1, 2).reshape(b, t, -1))

    def image_to_token(self, keys: torch.Tensor, values: torch.Tensor, norm) -> _Update:
        """``norm(image + attention(q=image + pe, k=tokens, v=tokens))``, kept with its factors.

        ``keys``: the tokens' (H, B·T, d) projected keys (`_head_major`); ``values``: their
        (B, H·T, C) values through the output projection (`_values_out`).
        """
        import torch

        heads, b = len(keys), len(values)
        t = values.shape[1] // heads
        scores = (keys @ self.queries).view(heads, b, t, -1)  # (H, B, T, N)
        attn = torch.softmax(scores, dim=2).transpose(0, 1).reshape(b, heads * t, -1)  # over the tokens
        cells = torch.baddbmm(self.image, attn.transpose(1, 2), values.to(attn.dtype))  # (B, N, C)
        keys, _, rstd = torch.native_layer_norm(cells, (cells.shape[-1],), norm.weight, norm.bias, norm.eps)
        return _Update(keys, attn, values - values.mean(-1, keepdim=True), rstd.view(b, 1, -1))


class _Factored:
    """The second layer's cross attentions, read from the first layer's `_Update` instead of its cells.

    Its cells are ``rstd ∘ (centred + attnᵀ · values) ∘ γ + β``; every product of them with a
    projection splits into the shared image's projection (made once per image, as in
    `_SharedImage`), the update's (H·T × H·T) product with the prompt's tokens, and the per-cell
    scale ``rstd``. Per prompt that is (H·T)² + heads · 16 multiply-adds a cell instead of the
    folded H·T · C (`PromptDecoder._token_to_image`): about a third.
    """

    def __init__(self, norm, layer, image: torch.Tensor, pe: torch.Tensor, dtype: torch.dtype) -> None:
        to_image, to_token = layer.cross_attn_token_to_image, layer.cross_attn_image_to_token
        centred = image - image.mean(1, keepdim=True)
        gamma, beta = norm.weight[:, None].float(), norm.bias.float()
        self.key_weight = gamma * to_image.k_proj.weight.T  # (C, I): the norm's scale folded into the projections
        self.value_weight = gamma * to_image.v_proj.weight.T
        self.query_weight = gamma * to_token.q_proj.weight.T
        heads = to_image.num_heads
        self.keys = _by_head(centred @ self.key_weight, heads).to(dtype)  # (H, d, N)
        self.keys_pe = _by_head(to_image.k_proj(beta + pe), heads).to(dtype)
        self.values = _by_head(centred @ self.value_weight, heads).transpose(1, 2).contiguous().to(dtype)  # (H, N, d)
        self.values_bias = to_image.v_proj(beta)  # (I,): β's values and the value bias
        self.queries = _by_head(centred @ self.query_weight, to_token.num_heads).to(dtype)
        self.queries_pe = _by_head(to_token.q_proj(beta + pe), to_token.num_heads).to(dtype)
        self.dtype = dtype

    def _scores(self, left: torch.Tensor, shared: torch.Tensor, shared_pe: torch.Tensor, weight, update: _Update):
        """(B, H, T, N) ``left · ((cells + pe) W + bias)`` for the (H, B·T, d) ``left`` per head."""
        import torch

        heads, bt, d = left.shape
        b = len(update.keys)
        per_head = (update.values @ weight).view(b, -1, heads, d).permute(0, 2, 3, 1)  # (B, H, d, HT')
        small = (_token_major(left.float(), b) @ per_head).reshape(b, bt // b * heads, -1)  # (B, HT, HT')
        scores = torch.bmm(small.to(self.dtype), update.attn).view(b, heads, bt // b, -1)  # the update's part
        left = left.to(self.dtype)
        scores += _token_major(left @ shared, b)
        scores *= update.rstd[:, None]
        scores += _token_major(left @ shared_pe, b)
        return scores

    def token_to_image(self, attention, q_in: torch.Tensor, update: _Update) -> torch.Tensor:
        """``attention(q=q_in, k=cells + pe, v=cells)`` for (B, T, C) tokens and the cells of ``update``."""
        import torch

        b, t, _ = q_in.shape
        heads = attention.num_heads
        q = _head_major(attention.q_proj(q_in), heads)
        weights = torch.softmax(self._scores(q, self.keys, self.keys_pe, self.key_weight, update), dim=-1)
        weights *= update.rstd[:, None]  # (B, H, T, N); its rows sum to one before this scale
        shared = weights.transpose(0, 1).reshape(heads, b * t, -1) @ self.values  # (H, BT, d)
        through = torch.bmm(weights.view(b, heads * t, -1), update.attn.transpose(1, 2))  # (B, HT, HT')
        d = shared.shape[-1]
        per_head = (update.values @ self.value_weight).view(b, -1, heads, d).transpose(1, 2)  # (B, H, HT', d)
        mixed = _token_major(shared.float(), b) + through.view(b, heads, t, -1).float() @ per_head  # (B, H, T, d)
        return attention.out_proj(mixed.transpose(1, 2).reshape(b, t, -1) + self.values_bias)

    def image_to_token(
        self, attention, k_in: torch.Tensor, v_in: torch.Tensor, update: _Update
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``cells + attention(q=cells + pe, k=k_in, v=v_in)`` for the cells of ``update`` (before the layer's norm).

        Also its (B, H·T, N) attention and (B, H·T, C) float32 values (output projection folded
        in), whose product is the update (`_FactoredUpscaling` reads it from them).
        """
        import torch

        b, t, _ = k_in.shape
        k = _head_major(attention.k_proj(k_in), attention.num_heads)
        scores = self._scores(k, self.queries, self.queries_pe, self.query_weight, update)
        attn = torch.softmax(scores, dim=2).view(b, attention.num_heads * t, -1)  # over the tokens
        values = _values_out(attention, v_in)
        cells = update.keys.baddbmm_(attn.transpose(1, 2), values.to(self.dtype))  # the update's cells are not read again
        return cells, attn, values


@dataclass
class _CellFactors:
    """The first upscaling product of B prompts' cells, ``cells · W + b = leftᵀ · right + scale ∘ shared`` (`_FactoredUpscaling`)."""

    left: torch.Tensor
    """(B, K, N) per cell: both layers' attention over the prompt's heads and tokens, the second norm's terms."""
    right: torch.Tensor
    """(B, K, 4·C') per prompt: what each row of ``left`` multiplies."""
    scale: torch.Tensor
    """(B, 1, N) both norms' scales per cell, for the shared image's product."""

    def __getitem__(self, index: torch.Tensor) -> _CellFactors:
        return _CellFactors(self.left[index], self.right[index], self.scale[index])


class _FactoredUpscaling:
    """The first transposed convolution of SAM's two-layer decoders, read from the layers' updates instead of the cells.

    After the second layer a cell is ``norm₂(norm₁(x + A₀ᵀV₀) + A₁ᵀV₁)``: the shared image ``x``
    plus each layer's attention (rank H·T = 56) over the prompt's values, through two norms.
    Norms are a per-cell scale and shift, so the cell's product with the convolution's
    (C × 4·C') weights ``W`` splits into the image's product (``P = centred x · γ₁γ₂W``, once
    per image) scaled per cell, and a (2·H·T + 2)-wide product: ``[r₂r₁A₀ᵀ | r₂A₁ᵀ | r₂ | −r₂μ₂]
    · [V₀γ₁γ₂W; V₁γ₂W; β₁γ₂W; 1ᵀγ₂W]``, with ``r`` and ``μ`` the norms' reciprocal deviation and
    mean per cell (``V₀`` centred as `_Update` keeps it). For a point prompt that is 114
    multiply-adds a cell per output instead of 256: the upscaling's largest product at less than
    half its cost (`PromptDecoder` uses it while 2·H·T + 2 is narrower than the cells).
    """

    def __init__(self, first_norm, second_norm, up: torch.nn.ConvTranspose2d, image: torch.Tensor, dtype: torch.dtype) -> None:
        weight, bias = _per_pixel(up, column_major=True)  # float32: the model's own
        second = second_norm.weight[:, None] * weight  # γ₂W
        self.through_first = first_norm.weight[:, None] * second  # γ₁γ₂W
        self.through_second = second
        self.beta = first_norm.bias @ second  # β₁γ₂W
        self.ones = second.sum(0)  # 1ᵀγ₂W: what a cell's mean takes away
        self.bias = (second_norm.bias @ weight + bias).to(dtype)  # β₂W + b
        self.shared = ((image - image.mean(1, keepdim=True)) @ self.through_first).to(dtype)  # (N, 4·C')
        self._shared_in: dict[tuple[int, int], torch.Tensor] = {}  # `shared` over an image's content, by (rows, cols)
        self.dtype = dtype

    def factors(
        self, update: _Update, attn: torch.Tensor, values: torch.Tensor, mean: torch.Tensor, rstd: torch.Tensor
    ) -> _CellFactors:
        """The factors of B prompts' cells from the first layer's ``update``, the second's (B, H·T, N) ``attn`` and (B, H·T, C) ``values``, and its norm's (B, N, 1) ``mean`` and ``rstd``."""
        import torch

        b, n = len(attn), attn.shape[-1]
        rstd = rstd.view(b, 1, n)
        scale = rstd * update.rstd  # r₂r₁, (B, 1, N)
        ht = attn.shape[1]
        left = torch.empty((b, 2 * ht + 2, n), dtype=attn.dtype, device=attn.device)  # written in place: no temporaries
        torch.mul(update.attn, scale, out=left[:, :ht])
        torch.mul(attn, rstd, out=left[:, ht : 2 * ht])
        left[:, 2 * ht : 2 * ht + 1] = rstd
        torch.mul(rstd, mean.view(b, 1, n), out=left[:, 2 * ht + 1 :]).neg_()
        left = left.to(self.dtype)
        right = torch.cat(
            [
                update.values @ self.through_first,
                values @ self.through_second,
                self.beta.expand(b, 1, -1),
                self.ones.expand(b, 1, -1),
            ],
            dim=1,
        ).to(self.dtype)  # (B, K, 4·C')
        return _CellFactors(left, right, scale.to(self.dtype))

    def products(self, factors: _CellFactors, side: int, rows: int, cols: int) -> Callable[[slice], torch.Tensor]:
        """The first product for a slice of the cells in the top-left ``rows`` × ``cols`` of the (side × side) grid: (B, m, 4·C')."""
        import torch

        def grid(x: torch.Tensor, axis: int) -> torch.Tensor:  # N → rows · cols, a view when the grid's width is whole
            return x.unflatten(axis, (side, side)).narrow(axis, 0, rows).narrow(axis + 1, 0, cols).flatten(axis, axis + 1)

        if (rows, cols) not in self._shared_in:  # a copy when the content is narrower than the grid: once per image
            self._shared_in[rows, cols] = grid(self.shared, 0)
        left, scale, shared = grid(factors.left, 2), grid(factors.scale, 2).transpose(1, 2), self._shared_in[rows, cols]
        return lambda block: torch.baddbmm(self.bias, left[:, :, block].transpose(1, 2), factors.right).addcmul_(
            scale[:, block], shared[block]
        )


class _Upscaling:
    """SAM's mask upscaling (transposed convolution, norm, GELU, transposed convolution, GELU) and the hypernetworks' product, per latent cell.

    Both transposed convolutions have a 2 × 2 kernel at stride 2: each input pixel becomes 2 × 2
    output pixels on its own, so each is a matrix product of the pixel's channels with the kernel
    laid out as (in, 2 · 2 · out). A latent cell thus grows into 16 pixels of 32 channels with
    products, the norm and the GELUs over rows; cells are independent, so they go through in
    blocks that stay in cache (`UPSCALE_BLOCK`). PyTorch's transposed convolutions write the
    whole (B, 32, 256, 256) map to memory and read it back for the GELU and the product: on a
    CPU the second one alone took twice the time of its blocked product.
    """

    def __init__(self, layers: torch.nn.Sequential, block: int | None) -> None:
        up_1, self.norm, self.act_1, up_2, self.act_2 = layers
        for up in (up_1, up_2):
            if tuple(up.kernel_size) != (2, 2) or tuple(up.stride) != (2, 2):
                raise ValueError(f"SAM's mask upscaling has 2 x 2 kernels at stride 2, not {up}")
        self.first, self.second = _per_pixel(up_1, column_major=True), _per_pixel(up_2)
        self.block = block

    def products(self, cells: torch.Tensor) -> Callable[[slice], torch.Tensor]:
        """The first convolution's product for a slice of (B, n, C) ``cells``: (B, m, 4·C')."""
        import torch

        weight, bias = self.first
        return lambda block: torch.baddbmm(bias, cells[:, block], weight.expand(len(cells), -1, -1))  # a strided batch: no copy

    def __call__(self, first: Callable[[slice], torch.Tensor], n: int, hyper: torch.Tensor) -> torch.Tensor:
        """(B, K, n · 16) logits of n cells, given their ``first`` product (`products`), for (B, K, 32) hypernetwork outputs.

        A cell's 16 pixels come column-major in the first convolution's 2 × 2 and row-major in the
        second's (`_per_pixel`): the order that `PromptDecoder.masks` lays out with one cheap copy.
        """
        import torch
        import torch.nn.functional as F

        b = len(hyper)
        width = self.norm.weight.shape[0]
        step = n if self.block is None else max(1, self.block // b)
        out = torch.empty((b, hyper.shape[1], n * 16), dtype=hyper.dtype, device=hyper.device)
        for start in range(0, n, step):
            block = slice(start, min(n, start + step))
            x = first(block).view(-1, width)
            x = _gelu_(self.act_1, F.layer_norm(x, (width,), self.norm.weight, self.norm.bias, self.norm.eps))
            x = _gelu_(self.act_2, torch.addmm(self.second[1], x, self.second[0]))
            m = block.stop - block.start
            out[:, :, block.start * 16 : block.stop * 16] = torch.bmm(hyper, x.view(b, m * 16, -1).transpose(1, 2))
        return out


def _per_pixel(up: torch.nn.ConvTranspose2d, column_major: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """A 2 × 2, stride-2 transposed convolution as (in, 2·2·out) weights and a (2·2·out,) bias: one output pixel's channels per 2·2 position, row-major (or column-major)."""
    weight = up.weight.detach()  # (in, out, rows, columns)
    weight = weight.permute(0, 3, 2, 1) if column_major else weight.permute(0, 2, 3, 1)
    return weight.reshape(weight.shape[0], -1).contiguous(), up.bias.detach().repeat(4)


def _gelu_(activation: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``activation(x)``, written into ``x`` when it is a GELU: writing a fresh output as large as the upscaled cells is slower."""
    import torch

    if isinstance(activation, torch.nn.GELU):
        return torch.ops.aten.gelu_(x, approximate=activation.approximate)
    return activation(x)


_DECODERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _decoder_in(decoder: torch.nn.Module, dtype: torch.dtype | None) -> torch.nn.Module:
    """``decoder`` itself, or (made once per decoder) a copy of it in ``dtype``."""
    if dtype is None or dtype == next(decoder.parameters()).dtype:
        return decoder
    copies = _DECODERS.setdefault(decoder, {})
    if dtype not in copies:
        copies[dtype] = copy.deepcopy(decoder).to(dtype)
    return copies[dtype]
