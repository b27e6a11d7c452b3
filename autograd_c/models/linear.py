"""Linear classifiers with scikit-learn's API, fitted in float64 by autograd_c: full-batch
L-BFGS by default, mini-batch Adam/SGD for ``partial_fit`` (and ``solver="adam"|"sgd"``).

The objective is  mean_i loss(y_i, w^T x_i + b) + alpha / 2 * ||w||^2  (no penalty on b)."""
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
                 n_iter_no_change=10):
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

    def fit(self, X, y):
        """Fit the weights on (X, y)."""
        return self._fit_impl(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch of mini-batch Adam on (X, y), starting from the current weights."""
        return self._fit_impl(X, y, incremental=True, classes=classes)

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
    ``alpha = 1 / (C * n_samples)``.

    Examples
    --------
    >>> import numpy as np
    >>> from autograd_c.models import LogisticRegression
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 0, 1, 1])
    >>> clf = LogisticRegression().fit(X, y)
    >>> clf.predict([[-3.0], [3.0]]).tolist()
    [0, 1]
    """
    _output = "logistic"


class SoftmaxRegression(_LinearBase):
    """Multinomial logistic regression with one weight vector per class (also for two classes):
    p(y = k | x) = softmax(W x + b)_k.

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
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10):
        super().__init__(alpha=alpha, fit_intercept=fit_intercept, solver=solver,
                         max_iter=max_iter, tol=tol, learning_rate_init=learning_rate_init,
                         batch_size=batch_size, shuffle=shuffle, random_state=random_state,
                         verbose=verbose, warm_start=warm_start, early_stopping=early_stopping,
                         validation_fraction=validation_fraction,
                         n_iter_no_change=n_iter_no_change)
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
