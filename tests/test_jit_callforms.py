"""Cheaper spellings of the same calls in a replayed program (tinygrad_edu/_jit/callforms.py):
each must give the eager step's bits."""
import numpy as np
import pytest

import tinygrad_edu as tg


@pytest.mark.parametrize("int_dtype", [np.int64, np.int32, np.uint8, np.bool_])
@pytest.mark.parametrize("float_dtype", [np.float64, np.float32])
def test_integer_operands_cast_first_give_the_eager_bits(int_dtype, float_dtype):
    w = tg.Tensor(np.array([1.5, -2.25, 3.0], dtype=float_dtype), requires_grad=True)

    def f(k, x):
        y = x * w
        return (k - y) * (y + k) / (k + 1.5) + y * k, y - k

    jitted = tg.jit(f)
    rng = np.random.default_rng(0)
    for _ in range(4):
        if int_dtype is np.bool_:
            k = rng.integers(0, 2, (4, 3)).astype(bool)
        else:
            info = np.iinfo(int_dtype)
            k = rng.integers(max(info.min, -2 ** 60), min(info.max, 2 ** 60), (4, 3),
                             dtype=int_dtype)
        x = tg.Tensor(rng.standard_normal((4, 3)).astype(float_dtype))
        got, want = jitted(tg.Tensor(k), x), f(tg.Tensor(k), x)
        for a, b in zip(got, want):
            assert a.data.dtype == b.data.dtype and a.data.tobytes() == b.data.tobytes()
    cast = "ndarray.astype" in jitted.program
    # float32 with int64/int32 computes in float64 (numpy's rule): not cast first then
    assert cast == (np.result_type(int_dtype, float_dtype) == float_dtype)


def test_a_large_integer_operand_is_left_to_the_ufunc():
    w = tg.Tensor(np.ones(3000), requires_grad=True)

    @tg.jit
    def f(k):
        return k - w

    k = tg.Tensor(np.arange(3000))
    for _ in range(3):
        assert f(k).data.tobytes() == (k - w).data.tobytes()
    assert "ndarray.astype" not in f.program
