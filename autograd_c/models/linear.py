"""Linear classifiers with scikit-learn's API, fitted in float64 by autograd_c: full-batch
L-BFGS by default, mini-batch Adam/SGD for ``partial_fit`` (and ``solver="adam"|"sgd"``).

The objective is  mean_i loss(y_i, w^T x_i + b) + alpha / 2 * ||w||^2  (no penalty on b); with
sample weights s_i (times the class weights) the mean is the weighted mean
sum_i s_i loss_i / sum_i s_i."""
import numpy as np

from ._base import ClassifierMixin
from ._net import _ClassifierNet, _NetEstimator

__all__ = ["LogisticRegression", "SoftmaxRegression", "LinearClassifier"]


class _LinearBase(ClassifierMixin, _ClassifierNet, _NetEstimator):
    _dtype = np.float64
    _solvers = ("lbfgs", "adam", "sgd")
    _hidden_activation = "identity"

    def __init__(self, alpha=1e-4, fit_intercept=True, solver="lbfgs", max_iter=100, tol=1e-4,
                 learning_rate_init=1e-2, batch_size="auto", shuffle=True, random_state=None,
                 verbose=False, warm_start=False, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, class_weight=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None):
        """Fit the weights on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,) or float, optional
            Non-negative weight of each sample, multiplied by the weight ``class_weight`` gives
            its class.  The loss is the weighted mean, so a weight of 0 is the same as leaving
            the sample out and a weight of 2 the same as repeating it.

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> from autograd_c.models import LogisticRegression
        >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 1, 0, 1])
        >>> w = np.array([1.0, 1.0, 0.0, 1.0])
        >>> a = LogisticRegression().fit(X, y, sample_weight=w)
        >>> b = LogisticRegression().fit(X[w > 0], y[w > 0])
        >>> bool(np.allclose(a.coef_, b.coef_))
        True
        """
        return self._fit_impl(X, y, incremental=False, sample_weight=sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of mini-batch Adam (or SGD) on (X, y), starting from the current weights.
        ``classes`` (all the labels) is needed on the first call when y does not contain every
        class; ``sample_weight`` as in :meth:`fit`.  ``class_weight="balanced"`` is refused
        here (a batch does not show the class frequencies): pass a dict instead.

        >>> import numpy as np
        >>> from autograd_c.models import LogisticRegression
        >>> X = np.array([[-1.0], [1.0]]); y = np.array([0, 1])
        >>> clf = LogisticRegression(solver="adam").partial_fit(X, y, sample_weight=[1.0, 2.0])
        >>> clf.classes_.tolist()
        [0, 1]
        """
        return self._fit_impl(X, y, incremental=True, classes=classes,
                              sample_weight=sample_weight)

    @property
    def coef_(self):
        """Weights, shape (1, n_features) for two classes (sigmoid/hinge heads) or
        (n_classes, n_features)."""
        self._check_fitted()
        return self.coefs_[0].T.copy()

    @property
    def intercept_(self):
        self._check_fitted()
        return self.intercepts_[0].copy()


class LogisticRegression(_LinearBase):
    """Logistic regression.  Two classes: p(y = classes_[1] | x) = sigmoid(w^T x + b),
    ``decision_function`` = w^T x + b and predict = classes_[1] where it is > 0.  More classes:
    multinomial (softmax) regression, predict = argmax.

    The penalty is ``alpha`` on the mean loss: scikit-learn's ``C`` (on the summed loss) is
    ``alpha = 1 / (C * n_samples)``, or ``alpha = 1 / (C * sum(weights))`` with weights
    (the loss is then the weighted mean; the weights are ``sample_weight`` times the class
    weights).  ``class_weight`` ("balanced" or a dict
    {label: weight}) multiplies each sample's weight by the weight of its class, as in
    scikit-learn; "balanced" gives class k the weight
    ``sum(sample_weight) / (n_classes * sum(sample_weight[y == k]))``, which is
    ``n_samples / (n_classes * count_k)`` without sample weights.

    Examples
    --------
    >>> import numpy as np
    >>> from autograd_c.models import LogisticRegression
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 0, 1, 1])
    >>> clf = LogisticRegression().fit(X, y)
    >>> clf.predict([[-3.0], [3.0]]).tolist()
    [0, 1]

    A heavy weight on one class moves the boundary away from it:

    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 1, 0, 1])
    >>> p1 = LogisticRegression(class_weight={1: 5.0}).fit(X, y).predict_proba(X)[:, 1]
    >>> p0 = LogisticRegression().fit(X, y).predict_proba(X)[:, 1]
    >>> bool(np.all(p1 > p0))
    True
    """
    _output = "logistic"


class SoftmaxRegression(_LinearBase):
    """Multinomial logistic regression with one weight vector per class (also for two classes):
    p(y = k | x) = softmax(W x + b)_k.  Parameters, ``sample_weight`` and ``class_weight`` as
    in :class:`LogisticRegression`.

    Examples
    --------
    >>> import numpy as np
    >>> from autograd_c.models import SoftmaxRegression
    >>> X = np.array([[0.0], [1.0], [2.0]] * 5); y = np.array([0, 1, 2] * 5)
    >>> SoftmaxRegression(alpha=0.0, max_iter=300).fit(X, y).coef_.shape
    (3, 1)
    """
    _output = "softmax"


class LinearClassifier(_LinearBase):
    """Linear classifier sign(w^T x + b) with the hinge loss max(0, 1 - y s) (a linear SVM,
    ``loss="hinge"``) or the logistic loss (``loss="log"``); one-vs-rest for more classes.
    ``sample_weight`` and ``class_weight`` as in :class:`LogisticRegression`.

    Examples
    --------
    >>> import numpy as np
    >>> from autograd_c.models import LinearClassifier
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([-1, -1, 1, 1])
    >>> LinearClassifier(loss="hinge").fit(X, y).predict([[0.5]]).tolist()
    [1]
    """

    def __init__(self, loss="hinge", alpha=1e-4, fit_intercept=True, solver="lbfgs",
                 max_iter=100, tol=1e-4, learning_rate_init=1e-2, batch_size="auto",
                 shuffle=True, random_state=None, verbose=False, warm_start=False,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 class_weight=None):
        super().__init__(alpha=alpha, fit_intercept=fit_intercept, solver=solver,
                         max_iter=max_iter, tol=tol, learning_rate_init=learning_rate_init,
                         batch_size=batch_size, shuffle=shuffle, random_state=random_state,
                         verbose=verbose, warm_start=warm_start, early_stopping=early_stopping,
                         validation_fraction=validation_fraction,
                         n_iter_no_change=n_iter_no_change, class_weight=class_weight)
        self.loss = loss

    @property
    def _output(self):
        if self.loss == "hinge":
            return "hinge"
        if self.loss == "log":
            return "ovr_logistic"
        raise ValueError(f"LinearClassifier: loss must be 'hinge' or 'log', got {self.loss!r}")

    def _check_common_params(self):
        super()._check_common_params()
        self._output  # noqa: B018  (validates loss)

    def __getattribute__(self, name):
        if name in ("predict_proba", "predict_log_proba") and \
                object.__getattribute__(self, "loss") == "hinge":
            raise AttributeError(f"{name} is not available for loss='hinge' (the hinge loss gives "
                                 "no probabilities); use loss='log'")
        return object.__getattribute__(self, name)
