"""Round 9 polish: composite statistics name themselves in their errors; loss signatures in
PyTorch's positional order; adaptive optimizers' state in one order whether stepped or loaded;
repeat along the last axis as flat spread / group-sum passes."""
import inspect
import warnings

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import nn
from autograd_c.nn import functional as F
from _fd import fd_grad

RNG = np.random.default_rng(9)


# ---- 1. statistics: errors name the public function, not the first op it calls ----

F32 = ag.tensor(np.ones(3, np.float32))
F64 = ag.tensor(np.ones(3))


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_log_add_dtype_mismatch_names_the_function(name):
    f = getattr(ag, name)
    with pytest.raises(TypeError, match=rf"^{name}: dtype mismatch, float32 and float64 "
                                        r"\(convert one with \.astype\(\)\)$"):
        f(F32, F64)
    with pytest.raises(TypeError, match=rf"^{name}: dtype mismatch, float64 and float32"):
        f(F64, F32)
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(3,\) and \(2,\) cannot be "
                                         "broadcast together$"):
        f(F64, ag.tensor(np.ones(2)))


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_log_add_operands_adopt_the_tensor_dtype_as_binary_ops_do(name):
    f, ref = getattr(ag, name), getattr(np, name)
    a = np.array([0.5, -2.0, 30.0])
    # a Python scalar or an array takes the tensor operand's dtype, on either side
    for x1, x2 in ((F32, 2.0), (2.0, F32), (F32, a), (a.astype(np.float32), F64)):
        y = f(x1, x2)
        assert y.dtype == ag.add(x1, x2).dtype
        np.testing.assert_allclose(y.numpy(), ref(np.asarray(x1, np.float64),
                                                  np.asarray(x2, np.float64)), rtol=1e-6)


def test_log_add_gradient_still_matches_finite_differences():
    a, b = RNG.standard_normal(5), RNG.standard_normal(5)
    for name in ("logaddexp", "logaddexp2"):
        f, ref = getattr(ag, name), getattr(np, name)
        x = ag.tensor(a, requires_grad=True)
        f(x, ag.tensor(b)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), fd_grad(lambda v: ref(v, b).sum(), a),
                                   rtol=1e-7, atol=1e-9)


X2 = ag.tensor(np.array([[1.0, np.nan, 2.0], [3.0, 4.0, np.nan]]))


@pytest.mark.parametrize("name", ["nansum", "nanprod", "nanstd", "nancumsum", "nancumprod"])
def test_nan_reductions_and_scans_name_themselves_for_a_bad_axis(name):
    f = getattr(ag, name)
    with pytest.raises(ValueError, match=rf"^{name}: axis 5 is out of bounds for a tensor of "
                                         "dimension 2"):
        f(X2, axis=5)
    with pytest.raises(TypeError, match=rf"^{name}: axis must be"):
        f(X2, axis="a")


@pytest.mark.parametrize("name", ["nansum", "nanprod", "nanstd"])
def test_nan_reductions_name_themselves_for_a_repeated_axis(name):
    with pytest.raises(ValueError, match=rf"^{name}: repeated axis"):
        getattr(ag, name)(X2, axis=(0, 0))


@pytest.mark.parametrize("name", ["nansum", "nanprod", "nanstd", "nancumsum", "nancumprod"])
def test_nan_functions_with_valid_axes_still_match_numpy(name):
    v = np.asarray(X2)
    for axis in (None, 0, -1) if "cum" in name else (None, 0, -1, (0, 1)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            np.testing.assert_allclose(getattr(ag, name)(X2, axis=axis).numpy(),
                                       getattr(np, name)(v, axis=axis), rtol=1e-12)
