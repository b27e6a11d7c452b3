"""Optimizers with fused C update steps, gradient clipping and learning-rate schedulers."""
from . import lr_scheduler  # noqa: F401
from .optimizers import Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad, clip_grad_norm_  # noqa: F401
