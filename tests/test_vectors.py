import numpy as np
import pytest

from semlat.vectors import normalize


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_rows_get_unit_length_and_zero_rows_stay_zero(dtype):
    out = normalize(np.array([[3.0, 4.0], [0.0, 0.0]]), dtype)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.astype(np.float64), [[0.6, 0.8], [0.0, 0.0]], atol=1e-3)


def test_float32_results_are_float64s_rounded():
    x = np.random.default_rng(0).normal(size=(200, 512)).astype(np.float32) * 30
    exact = normalize(x, np.float64)
    np.testing.assert_allclose(np.linalg.norm(exact, axis=-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(normalize(x), exact, atol=6e-8, rtol=0)
