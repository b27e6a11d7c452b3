"""autograd_c: automatic differentiation for numpy-style code, with a C engine."""
from ._core import (  # noqa: F401
    Tensor, tensor, from_numpy, LinAlgError, float32, float64,
    neg, abs, exp, log, log1p, sqrt, sin, cos, tan, tanh, sigmoid, relu, leaky_relu, elu,
    softplus, gelu, silu, erf, sign, sinh, cosh, arcsin, arccos, arctan, arcsinh, arccosh,
    arctanh, expm1, exp2, log2, log10, floor, ceil, trunc, round, square, reciprocal, arctan2, hypot, add, subtract, multiply, divide, power, maximum, minimum,
    floor_divide, remainder,
    equal, not_equal, less, less_equal, greater, greater_equal, where, clip,
    sum, max, min, prod, logsumexp, mean, var, std, softmax, log_softmax,
    cumsum, diff, matmul, reshape, permute, transpose, swapaxes, squeeze, unsqueeze, expand_dims, flatten,
    broadcast_to, expand, concatenate, cat, stack, split,
    is_grad_enabled, get_num_threads, set_num_threads, live_storages, live_tensors, live_nodes,
    empty_cache, cached_bytes, get_cache_limit, set_cache_limit, clamp, is_tensor, allclose,
)
from .autograd import no_grad, enable_grad, set_grad_enabled, inference_mode  # noqa: F401
from .gradcheck import numerical_grad, gradcheck, GradcheckError  # noqa: F401
from .creation import (  # noqa: F401
    zeros, ones, full, empty, arange, linspace, eye, rand, randn, zeros_like, ones_like,
    full_like, rand_like, randn_like, manual_seed,
)

from .functional import (  # noqa: F401,E402
    grad, value_and_grad, vjp, jvp, jacobian, jacrev, jacfwd, hessian, hvp,
)
from . import linalg  # noqa: E402
from .linalg import trace, diag, outer, tensordot, dot, inner, einsum  # noqa: F401,E402
from .manipulation import (  # noqa: F401,E402
    flip, roll, moveaxis, tile, repeat, tril, triu, diagonal, take_along_axis, sort,
    argsort,
)
from .statistics import (  # noqa: F401,E402
    median, quantile, percentile, nanmedian, nanquantile, nanpercentile, nansum, nanprod,
    nanmean, nanvar, nanstd, nanmax, nanmin, cumprod, nancumsum, nancumprod, logaddexp,
    logaddexp2,
)
from .moments import ptp, amax, amin, argmax, argmin, average, cov, corrcoef  # noqa: F401,E402
from . import nn, optim, data  # noqa: F401,E402
from .serialization import save, load  # noqa: F401,E402
from . import models  # noqa: F401,E402
from ._version import __version__  # noqa: F401,E402
from ._config import show_config  # noqa: F401,E402
from . import diagnostics  # noqa: F401,E402

# `from autograd_c import *` and the API reference (pdoc documents the names in __all__) take
# every public function, class and dtype above and the public subpackages; the modules that only
# implement the top-level functions (creation, manipulation, statistics, ...) stay out.
__all__ = sorted(
    [_n for _n, _v in globals().items() if not _n.startswith("_") and type(_v) is not type(linalg)]
    + ["autograd", "data", "diagnostics", "functional", "linalg", "models", "nn", "optim"])
