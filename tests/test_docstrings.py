"""Run the doctest examples in the Cython module's docstrings.

pytest's --doctest-modules collects the .py files of autograd_c but not the compiled
autograd_c._core; this test finds every public function and Tensor method of _core whose
docstring holds an example and runs it with doctest.
"""
import doctest
import inspect

import numpy as np
import pytest

import autograd_c as ag
from autograd_c import _core


def _documented():
    out = []
    for name in sorted(vars(_core)):
        if name.startswith("_"):
            continue
        obj = getattr(_core, name)
        doc = getattr(obj, "__doc__", None) or ""
        if callable(obj) and not inspect.isclass(obj) and ">>>" in doc:
            out.append((name, doc))
    for name in sorted(vars(_core.Tensor)):
        if name.startswith("_"):
            continue
        doc = getattr(getattr(_core.Tensor, name), "__doc__", None) or ""
        if ">>>" in doc:
            out.append((f"Tensor.{name}", doc))
    if ">>>" in (_core.Tensor.__doc__ or ""):
        out.append(("Tensor", _core.Tensor.__doc__))
    return out


DOCUMENTED = _documented()


def test_the_core_has_documented_examples():
    names = {n for n, _ in DOCUMENTED}
    for required in ("exp", "sum", "matmul", "softmax", "where", "reshape", "linear"):
        assert required in names


@pytest.mark.parametrize("name,doc", DOCUMENTED, ids=[n for n, _ in DOCUMENTED])
def test_core_docstring_example_runs(name, doc):
    test = doctest.DocTestParser().get_doctest(doc, {"np": np, "ag": ag}, f"_core.{name}",
                                               None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test, out=lambda s: None)
    r = runner.summarize(verbose=False)
    assert r.attempted > 0
    if r.failed:
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        msgs = []
        runner.run(test, out=msgs.append)
        pytest.fail("".join(msgs))
