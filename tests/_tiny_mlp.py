"""A tiny MLP on the core Tensor API only (tensors, matmul, tanh, a manual SGD step under
no_grad), shared by the memory and thread tests until autograd_c.nn / optim land."""
import numpy as np

import autograd_c as ag


def make_data(seed, n=16, d_in=4, dtype="float64"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d_in))
    y = np.sin(X.sum(axis=1, keepdims=True))
    return ag.tensor(X, dtype=dtype), ag.tensor(y, dtype=dtype)


def make_params(seed, d_in=4, hidden=8, dtype="float64"):
    rng = np.random.default_rng(seed + 1000)
    shapes = [(d_in, hidden), (hidden,), (hidden, 1), (1,)]
    return [ag.tensor(rng.standard_normal(s) * 0.5, dtype=dtype, requires_grad=True) for s in shapes]


def loss_fn(params, X, y):
    W1, b1, W2, b2 = params
    h = ag.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    return ((out - y) ** 2).mean()


def sgd_step(params, X, y, lr=0.05):
    loss = loss_fn(params, X, y)
    loss.backward()
    with ag.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None
    return loss


def train(seed, steps, dtype="float64"):
    X, y = make_data(seed, dtype=dtype)
    params = make_params(seed, dtype=dtype)
    for _ in range(steps):
        sgd_step(params, X, y)
    return [p.numpy().copy() for p in params]
