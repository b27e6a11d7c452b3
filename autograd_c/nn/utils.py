"""``nn.utils``: where PyTorch users find the gradient clipping helpers (``torch.nn.utils``).
They are the functions of :mod:`autograd_c.optim`, not copies.

Examples
--------
>>> import autograd_c as ag
>>> w = ag.tensor([3.0, 4.0], requires_grad=True)
>>> w.grad = ag.tensor([3.0, 4.0])
>>> ag.nn.utils.clip_grad_norm_([w], 1.0)
5.0
"""
from ..optim.optimizers import clip_grad_norm_, clip_grad_value_  # noqa: F401

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
