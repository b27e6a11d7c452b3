"""Shared fixtures: a seeded generator per test and a guard that every test leaves grad mode on."""
import numpy as np
import pytest

import autograd_c as ag


@pytest.fixture
def rng(request):
    """A numpy Generator seeded from the test's name, so each test is reproducible on its own."""
    seed = sum(request.node.nodeid.encode()) % (2**32)
    return np.random.default_rng(seed)


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """A test that leaves recording off would silently change every test after it."""
    assert ag.is_grad_enabled()
    yield
    assert ag.is_grad_enabled(), "the test left grad mode disabled"
