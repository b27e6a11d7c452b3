"""scikit-learn compatible estimators trained by autograd_c (scikit-learn is not required)."""
from ._base import NotFittedError, ConvergenceWarning  # noqa: F401
from .linear import LogisticRegression, SoftmaxRegression, LinearClassifier  # noqa: F401
from .mlp import MLPClassifier, MLPRegressor  # noqa: F401

__all__ = ["LogisticRegression", "SoftmaxRegression", "LinearClassifier", "MLPClassifier",
           "MLPRegressor", "NotFittedError", "ConvergenceWarning"]
