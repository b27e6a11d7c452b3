"""Optimizers with fused C update steps, gradient clipping and learning-rate schedulers."""
from . import lr_scheduler  # noqa: F401
from .optimizers import (Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad,  # noqa: F401
                         clip_grad_norm_, clip_grad_value_)
from .adaptive import Adamax, NAdam, RAdam, Adadelta  # noqa: F401

__all__ = ["lr_scheduler", "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax",
           "NAdam", "RAdam", "Adadelta", "clip_grad_norm_", "clip_grad_value_"]
