"""Neural-network building blocks: Module, layers, activations, losses, initialisers."""
from . import functional, init  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .layers import Linear, Sequential, Identity, Flatten, Dropout  # noqa: F401
from .container import ModuleList, ModuleDict  # noqa: F401
from .normalization import LayerNorm, BatchNorm1d  # noqa: F401
from .activations import (  # noqa: F401
    Sigmoid, Tanh, ReLU, LeakyReLU, ELU, GELU, Softplus, SiLU, Softmax, LogSoftmax,
)
from .losses import (  # noqa: F401
    MSELoss, L1Loss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss, HingeLoss,
    HuberLoss, SmoothL1Loss, KLDivLoss,
)
from . import utils  # noqa: F401,E402

# `from autograd_c.nn import *`: the classes and the public submodules, not the modules that
# only implement them (module, layers, losses...)
__all__ = [
    "functional", "init", "utils", "Module", "Parameter", "Linear", "Sequential", "Identity",
    "Flatten", "Dropout", "ModuleList", "ModuleDict", "LayerNorm", "BatchNorm1d", "Sigmoid",
    "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "SiLU", "Softmax", "LogSoftmax",
    "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
    "HingeLoss", "HuberLoss", "SmoothL1Loss", "KLDivLoss",
]
