"""Device choice: cuda when there is one, else cpu; an explicit request wins or is one clear error."""

import platform
import subprocess
import sys

import pytest
import torch

from semlat.device import native_bfloat16, resolve_device
from semlat.errors import SemlatError


def _gpu(monkeypatch, available: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)


@pytest.mark.parametrize("available", [False, True], ids=["no GPU", "a GPU"])
@pytest.mark.parametrize("requested", [None, "", "auto"])
def test_auto_is_cuda_when_available_else_cpu(requested, available, monkeypatch):
    _gpu(monkeypatch, available)
    assert resolve_device(requested) == torch.device("cuda" if available else "cpu")


@pytest.mark.parametrize(("requested", "available"), [("cpu", False), ("cpu", True), ("cuda", True), ("cuda:1", True)], ids=str)
def test_an_explicit_device_is_taken_as_given(requested, available, monkeypatch):
    _gpu(monkeypatch, available)
    assert resolve_device(requested) == torch.device(requested)


@pytest.mark.parametrize("requested", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_without_a_gpu_is_one_line_pointing_at_the_cpu(requested, monkeypatch):
    _gpu(monkeypatch, False)
    with pytest.raises(SemlatError) as error:
        resolve_device(requested)
    message = str(error.value)
    assert f"device {requested!r} asked for but no CUDA GPU is available" in message and "--device cpu" in message
    assert "\n" not in message


@pytest.mark.parametrize("requested", ["tpu", "gpu", "cuda:x", "cuda:-1", "CPU"])
def test_an_unknown_device_is_one_line_listing_the_choices(requested):
    with pytest.raises(SemlatError) as error:
        resolve_device(requested)
    assert str(error.value) == f"unknown device {requested!r}: use auto, cpu, cuda or cuda:N"


@pytest.mark.parametrize(
    ("avx512_bf16", "amx", "native"), [(False, False, False), (True, False, True), (False, True, True), (True, True, True)]
)
def test_bfloat16_is_native_on_a_cpu_with_avx512_bf16_or_amx(avx512_bf16, amx, native, monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    assert native_bfloat16(torch.device("cpu")) is native
    assert native_bfloat16(torch.device("cuda")) is False  # the decoder's bfloat16 path is untested on GPUs


_REALLOCATE = """
import resource, sys, torch
from semlat.device import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "kept" else None
torch.ones(4, 4096, 256).add_(1)  # 16 MiB (a decoder chunk's cells), freed at once
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
torch.ones(2, 4096, 256).add_(1)  # 8 MiB
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the thresholds are glibc's")
def test_kept_memory_serves_the_next_tensor_without_paging_it_in_again():
    """After a 16 MiB tensor is freed, an 8 MiB one takes 2,048 page faults by default (fresh memory), none once memory is kept."""
    runs = {
        mode: subprocess.run([sys.executable, "-c", _REALLOCATE, mode], capture_output=True, text=True, check=True).stdout.split()
        for mode in ("default", "kept")
    }
    assert runs["kept"][0] == "True"
    assert int(runs["default"][1]) >= 2000
    assert int(runs["kept"][1]) < 100
