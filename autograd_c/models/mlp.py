"""Multi-layer perceptrons with scikit-learn's API, trained by autograd_c in float32 (default)
or float64."""
import functools
import numbers

import numpy as np

from ._base import ClassifierMixin, RegressorMixin
from ._net import _ClassifierNet, _NetEstimator, _RegressorNet

__all__ = ["MLPClassifier", "MLPRegressor"]


class _stochastic_only:
    """``partial_fit`` exists only for the stochastic solvers: with solver="lbfgs" the attribute
    lookup raises AttributeError, so ``hasattr(est, "partial_fit")`` is False (scikit-learn's
    ``available_if``, which meta-estimators rely on)."""

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        if getattr(obj, "solver", None) == "lbfgs":
            raise AttributeError("partial_fit is only available for stochastic solvers "
                                 "('adam', 'sgd'), not 'lbfgs'")
        return self.fn.__get__(obj, owner)


_DTYPES = ("float32", "float64")


class _MLPBase(_NetEstimator):
    _l2_per_sample = True
    _solvers = ("adam", "sgd", "lbfgs")

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate_init=1e-3, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
                 dtype="float32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dtype = dtype

    def _checked_dtype(self):
        """The training dtype named by the ``dtype`` parameter (ValueError for another)."""
        dt = self.dtype
        if isinstance(dt, str):
            ok = dt in _DTYPES
        else:
            ok = isinstance(dt, (type, np.dtype)) and np.dtype(dt).name in _DTYPES
        if not ok:
            raise ValueError(f"{type(self).__name__}: dtype must be 'float32' or 'float64', "
                             f"got {dt!r}")
        return np.dtype(dt).type

    _dtype = property(_checked_dtype)

    @property
    def _hidden_activation(self):
        return self.activation

    def _hidden_sizes(self):
        h = self.hidden_layer_sizes
        sizes = [h] if isinstance(h, numbers.Integral) else list(h)
        for s in sizes:
            if not isinstance(s, numbers.Integral) or isinstance(s, bool) or s < 1:
                raise ValueError(f"{type(self).__name__}: hidden_layer_sizes must be positive "
                                 f"integers, got {h!r}")
        return sizes

    def _check_common_params(self):
        super()._check_common_params()
        if self.activation not in ("identity", "logistic", "tanh", "relu"):
            raise ValueError(f"{type(self).__name__}: activation must be 'identity', 'logistic', "
                             f"'tanh' or 'relu', got {self.activation!r}")
        self._hidden_sizes()
        for name in ("beta_1", "beta_2"):
            v = getattr(self, name)
            if not 0 <= v < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be in [0, 1), got {v}")
        if not self.epsilon > 0:
            raise ValueError(f"{type(self).__name__}: epsilon must be > 0, got {self.epsilon}")
        self._checked_dtype()

    @property
    def n_layers_(self):
        return len(self.coefs_) + 1

    @property
    def out_activation_(self):
        """Name of the output activation (scikit-learn's attribute): 'identity' (regressor),
        'logistic' (two classes) or 'softmax'."""
        self._check_fitted()
        if isinstance(self, MLPRegressor):
            return "identity"
        return "logistic" if self.coefs_[-1].shape[1] == 1 else "softmax"

    def fit(self, X, y, sample_weight=None):
        """Train on (X, y) for up to ``max_iter`` epochs (or L-BFGS iterations).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,) or float, optional
            Non-negative weight of each sample (for the classifier, multiplied by the weight
            ``class_weight`` gives its class).  As in scikit-learn's MLPs, the loss is the
            weighted mean over the samples (over each mini-batch for "adam" and "sgd") and the
            L2 term is ``alpha / (2 * sum of the weights) * ||W||^2``, so a weight of 0 is the
            same as leaving the sample out and a weight of 2 the same as repeating it.

        Returns
        -------
        self : the fitted estimator.

        Examples
        --------
        Fit only the right half of the data:

        >>> import numpy as np
        >>> from autograd_c.models import MLPRegressor
        >>> X = np.linspace(-1, 1, 20)[:, None]; y = X[:, 0] ** 2
        >>> w = np.r_[np.zeros(10), np.ones(10)]
        >>> reg = MLPRegressor((8,), solver="lbfgs", random_state=0).fit(X, y, sample_weight=w)
        >>> reg.score(X[10:], y[10:]) > 0.9
        True
        """
        return self._fit_impl(X, y, incremental=False, sample_weight=sample_weight)


class MLPClassifier(ClassifierMixin, _ClassifierNet, _MLPBase):
    """Multi-layer perceptron classifier (softmax output; one logistic output for two classes).

    Parameters are scikit-learn's (``hidden_layer_sizes``, ``activation``, ``solver`` in
    {"adam", "sgd", "lbfgs"}, ``alpha`` L2 penalty, ``batch_size``, ``learning_rate_init``,
    ``max_iter``, ``early_stopping``, ``validation_fraction``, ``n_iter_no_change``,
    ``random_state``, ``verbose`` showing a progress bar on stderr...).  ``dtype`` ("float32",
    the default, or "float64"; not in scikit-learn) is the precision of training and
    prediction: float64 is slower, and reaches a minimum beyond float32's resolution.
    ``class_weight`` (None, "balanced" or a dict {label: weight}; not in scikit-learn's
    MLPClassifier) multiplies each sample's weight by the weight of its class, with the
    meaning it has in scikit-learn's linear classifiers.

    Examples
    --------
    >>> import numpy as np
    >>> from autograd_c.models import MLPClassifier
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]] * 10)
    >>> y = np.array([0, 1, 1, 0] * 10)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0).fit(X, y)
    >>> clf.score(X, y)
    1.0
    """

    _output = "logistic"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate_init=1e-3, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10,
                 class_weight=None, dtype="float32"):
        super().__init__(hidden_layer_sizes=hidden_layer_sizes, activation=activation,
                         solver=solver, alpha=alpha, batch_size=batch_size,
                         learning_rate_init=learning_rate_init, max_iter=max_iter,
                         shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
                         warm_start=warm_start, momentum=momentum,
                         nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, n_iter_no_change=n_iter_no_change, dtype=dtype)
        self.class_weight = class_weight

    @property
    def n_outputs_(self):
        """Number of network outputs: 1 for two classes, else the number of classes."""
        self._check_fitted()
        return self.coefs_[-1].shape[1]

    @_stochastic_only
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch of mini-batch training on (X, y); ``classes`` is needed on the first call
        when y does not contain every class.  ``sample_weight`` as in :meth:`fit` (the
        argument order is scikit-learn's); ``class_weight="balanced"`` is refused here (a
        batch does not show the class frequencies): pass a dict instead.

        Examples
        --------
        >>> import numpy as np
        >>> from autograd_c.models import MLPClassifier
        >>> X = np.array([[0.0], [1.0]]); y = np.array(["a", "b"])
        >>> clf = MLPClassifier((4,), random_state=0)
        >>> clf.partial_fit(X, y, sample_weight=[1.0, 3.0], classes=["a", "b"]).classes_.tolist()
        ['a', 'b']
        """
        return self._fit_impl(X, y, incremental=True, classes=classes,
                              sample_weight=sample_weight)


class MLPRegressor(RegressorMixin, _RegressorNet, _MLPBase):
    """Multi-layer perceptron regressor (identity output, squared loss), single or multiple
    outputs.  Parameters as :class:`MLPClassifier`.

    The training objective is scikit-learn's: half the squared error summed over the outputs
    and averaged over the samples, plus ``alpha / (2 n) * ||W||^2``; as in scikit-learn,
    ``loss_`` and ``loss_curve_`` report the squared error averaged over the outputs too.

    Examples
    --------
    >>> import numpy as np
    >>> from autograd_c.models import MLPRegressor
    >>> X = np.linspace(-1, 1, 50)[:, None]; y = 2 * X[:, 0] + 1
    >>> reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.99
    True
    """

    @_stochastic_only
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of mini-batch training on (X, y), with optional ``sample_weight`` as in
        :meth:`fit`.

        Examples
        --------
        >>> import numpy as np
        >>> from autograd_c.models import MLPRegressor
        >>> X = np.array([[0.0], [1.0]]); y = np.array([0.0, 1.0])
        >>> MLPRegressor((4,), random_state=0).partial_fit(X, y, sample_weight=[1.0, 2.0]).n_iter_
        1
        """
        return self._fit_impl(X, y, incremental=True, sample_weight=sample_weight)
