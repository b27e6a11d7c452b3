"""The documentation's promises about the public API: every public name has a docstring,
``autograd_c.__all__`` is the public API, every name README.md and the guide pages mention
exists, and the README's statements changed in this round hold.

(tests/test_docstrings.py runs the compiled module's examples; tests/test_readme_claims.py runs
the code blocks of README.md and docs/guide.)
"""
import glob
import importlib
import inspect
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

import autograd_c as ag

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# the namespaces a user reaches from the README: ag.xxx, ag.nn.Xxx, F.xxx, ...
NAMESPACES = ["autograd_c", "autograd_c.nn", "autograd_c.nn.functional", "autograd_c.nn.init",
              "autograd_c.optim", "autograd_c.optim.lr_scheduler", "autograd_c.functional",
              "autograd_c.autograd", "autograd_c.linalg", "autograd_c.models", "autograd_c.data",
              "autograd_c.diagnostics"]

# modules that only implement what the package exports
IMPLEMENTATION = ["creation", "manipulation", "moments", "statistics", "serialization"]


def public_names(mod):
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n in vars(mod) if not n.startswith("_")]
    return [n for n in names if not inspect.ismodule(getattr(mod, n))]


def documented_objects():
    out = []
    for modname in NAMESPACES:
        mod = importlib.import_module(modname)
        for name in public_names(mod):
            obj = getattr(mod, name)
            if callable(obj):               # float32/float64 are numpy dtypes: numpy's docs
                out.append((f"{modname}.{name}", obj))
    return out


def read(relpath):
    with open(os.path.join(ROOT, relpath), encoding="utf-8") as f:
        return f.read()


def test_the_namespaces_have_names_and_a_module_docstring():
    for modname in NAMESPACES:
        mod = importlib.import_module(modname)
        assert len((mod.__doc__ or "").split()) >= 3, modname
        assert public_names(mod), modname


@pytest.mark.parametrize("qualname,obj", documented_objects(), ids=lambda v: v
                         if isinstance(v, str) else "")
def test_every_public_name_has_its_own_docstring(qualname, obj):
    doc = obj.__doc__ or ""
    assert doc.strip(), f"{qualname} has no docstring (help() shows nothing)"
    if inspect.isclass(obj):
        # a class without a docstring of its own shows its base's text, or type's
        assert "__doc__" in vars(obj) or doc not in {(b.__doc__ or "") for b in obj.__mro__[1:]}, \
            f"{qualname} shows an inherited docstring"
        assert doc != type.__doc__, qualname


def test_all_is_the_public_api():
    names = ag.__all__
    assert len(names) == len(set(names))
    missing = [n for n in names if not hasattr(ag, n)]
    assert not missing
    # every public function, class and dtype of the package is in __all__ ...
    public = {n for n, v in vars(ag).items() if not n.startswith("_") and not inspect.ismodule(v)}
    assert public <= set(names), sorted(public - set(names))
    # ... with the subpackages the README names, and none of the implementation modules
    for sub in ("nn", "optim", "linalg", "data", "models", "diagnostics", "functional",
                "autograd"):
        assert sub in names and inspect.ismodule(getattr(ag, sub)), sub
    for impl in IMPLEMENTATION:
        assert impl not in names
    ns = {}
    exec("from autograd_c import *", ns)
    assert {"tensor", "Tensor", "grad", "jacobian", "no_grad", "float32", "nn", "optim"} <= set(ns)
    assert ns["grad"] is ag.grad and ns["nn"] is ag.nn
    assert not set(IMPLEMENTATION) & set(ns)


def mentioned_names():
    """(file, dotted name) for every ag./nn./optim./F./D. name in the README and the guide."""
    roots = {"ag": "autograd_c", "autograd_c": "autograd_c", "nn": "autograd_c.nn",
             "optim": "autograd_c.optim", "F": "autograd_c.nn.functional",
             "D": "autograd_c.diagnostics"}
    found = set()
    for rel in ["README.md", "docs/index.md"] + sorted(
            os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs/guide/*.md"))):
        text = read(rel)
        for root, path in re.findall(r"(?<![\w./])(ag|autograd_c|nn|optim|F|D)\.([A-Za-z_]\w*"
                                     r"(?:\.[A-Za-z_]\w*)*)", text):
            if path.rsplit(".", 1)[-1] in ("h", "c", "md", "html"):
                continue                    # a file: csrc/ag.h, a link to a generated page
            found.add((rel, roots[root] + "." + path))
    return sorted(found)


def resolve(dotted):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):      # the longest importable prefix, then attributes
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        return obj
    raise ImportError(dotted)


def test_every_name_the_docs_mention_exists():
    names = mentioned_names()
    assert len(names) > 60
    missing = []
    for rel, dotted in names:
        try:
            resolve(dotted)
        except (AttributeError, ImportError):
            missing.append(f"{rel}: {dotted}")
    assert not missing


def test_the_tensor_methods_the_readme_mentions_exist():
    methods = set(re.findall(r"`t\.(\w+)", read("README.md")))
    assert {"numel", "max", "transpose", "sort", "detach_"} <= methods
    assert not [m for m in methods if not hasattr(ag.Tensor, m)]


def section(text, start, end):
    return text.split(start, 1)[1].split(end, 1)[0]


def test_the_readme_lists_of_layers_losses_optimizers_and_schedulers_exist():
    text = section(read("README.md"), "`nn` and `optim` follow PyTorch's names", "## Derivatives")
    listed = {n for n in re.findall(r"`([A-Z]\w+)`", text) if not n.endswith("Error")}
    assert {"Linear", "BatchNorm1d", "KLDivLoss", "RAdam", "OneCycleLR",
            "ReduceLROnPlateau"} <= listed
    where = (ag.nn, ag.optim, ag.optim.lr_scheduler)
    assert not [n for n in listed if not any(hasattr(m, n) for m in where)]
    for fn in ("clip_grad_norm_", "clip_grad_value_"):
        assert callable(getattr(ag.optim, fn))


def test_the_readme_lists_of_numpy_named_functions_exist():
    text = read("README.md")
    for start in ("- Elementwise math uses numpy's names", "- Statistics use numpy's names"):
        body = section(text, start, "\n- ")
        names = {n for n in re.findall(r"`([a-z]\w*)`", body) if n not in ("method", "q", "nan", "t")}
        assert len(names) >= 10, start
        assert not [n for n in names if not callable(getattr(ag, n, None))], start
    body = section(text, "`ag.linalg` has", "`det` is differentiable")
    names = re.findall(r"`([a-z]\w*)`", body)
    assert {"inv", "solve", "det", "slogdet", "cholesky", "norm"} <= set(names)
    assert all(callable(getattr(ag.linalg, n)) for n in names)


# ---- the README statements corrected in this round --------------------------------------------

def test_gelu_tanh_and_softplus_beta_exist_as_the_readme_says():
    # README: F.gelu(approximate="tanh"), F.softplus(x, beta, threshold) (PyTorch's formulas)
    F = ag.nn.functional
    x = np.linspace(-3, 3, 13)
    g = F.gelu(ag.tensor(x), approximate="tanh").numpy()
    ref = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(g, ref, rtol=1e-12, atol=1e-15)
    s = F.softplus(ag.tensor(x), beta=2.0, threshold=20.0).numpy()
    np.testing.assert_allclose(s, np.log1p(np.exp(2 * x)) / 2, rtol=1e-12)
    s = F.softplus(ag.tensor(x), 2.0, 1.0).numpy()        # above threshold / beta: x itself
    np.testing.assert_allclose(s, np.where(2 * x > 1.0, x, np.log1p(np.exp(2 * x)) / 2),
                               rtol=1e-12)


def test_class_weights_that_require_grad_are_refused_as_the_readme_says():
    F = ag.nn.functional
    x = ag.tensor(np.random.default_rng(0).normal(size=(4, 3)), requires_grad=True)
    target = np.array([0, 1, 2, 0])
    w = ag.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    for call in (lambda wt: F.cross_entropy(x, target, wt),
                 lambda wt: F.nll_loss(F.log_softmax(x, axis=1), target, wt),
                 lambda wt: ag.nn.CrossEntropyLoss(weight=wt)(x, target)):
        with pytest.raises(TypeError, match=r"weight\.detach\(\)"):
            call(w)
        loss = call(w.detach())              # the detached weight is the documented way
        loss.backward()
        assert w.grad is None and x.grad is not None
        x.grad = None

def test_split_keeps_numpys_meaning():
    # README: ag.split(x, n) gives n equal sections, or splits at a list of indices
    x = np.arange(6.0)
    for arg in (2, 3, [1, 4]):
        got = [t.numpy() for t in ag.split(ag.tensor(x), arg)]
        want = np.split(x, arg)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    assert [t.shape for t in ag.split(ag.tensor(x), 2)] == [(3,), (3,)]   # not torch's (2,)*3
    with pytest.raises(ValueError):
        ag.split(ag.tensor(x), 4)          # numpy's rule: 6 does not split into 4 equal sections


def test_logistic_regression_alpha_is_scikit_learns_c_as_the_readme_maps_it():
    LR = ag.models.LogisticRegression
    with pytest.raises(TypeError):
        LR(C=1.0)                          # README: takes alpha, not C
    sk = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X @ [1.5, -2.0, 0.5] + rng.normal(size=80) > 0).astype(int)
    C = 0.3
    ref = sk.LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = LR(alpha=1.0 / (C * len(X)), tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(np.ravel(ours.coef_), np.ravel(ref.coef_), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.ravel(ours.intercept_), ref.intercept_, rtol=1e-4, atol=1e-6)


def test_the_api_reference_documents_the_exported_names(tmp_path):
    # docs/index.md links api/autograd_c.html: it must hold ag.tensor, ag.grad, ..., and the
    # nn / optim pages their classes (pdoc documents imported names only when __all__ lists them)
    pytest.importorskip("pdoc")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "docs", "build.py"), "--out",
                        str(tmp_path)], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stderr

    def sections(rel):
        html = (tmp_path / "api" / rel).read_text(encoding="utf-8")
        return set(re.findall(r'<section id="([\w.]+)"', html))

    assert {"tensor", "Tensor", "grad", "jacobian", "no_grad", "sort"} <= sections("autograd_c.html")
    assert {"Linear", "Sequential", "CrossEntropyLoss"} <= sections("autograd_c/nn.html")
    assert {"cross_entropy", "mse_loss", "relu"} <= sections("autograd_c/nn/functional.html")
    assert {"SGD", "Adam", "clip_grad_norm_"} <= sections("autograd_c/optim.html")
    assert {"StepLR", "OneCycleLR"} <= sections("autograd_c/optim/lr_scheduler.html")
    assert {"LogisticRegression", "MLPClassifier"} <= sections("autograd_c/models.html")
    assert (tmp_path / "guide" / "hooks.html").exists()
    assert not (tmp_path / "api" / "autograd_c" / "creation.html").exists()


# ---- autograd_c.diagnostics: bad input gets a clear error ------------------------------------

def test_diagnostics_name_an_unfitted_estimator_an_empty_batch_and_an_empty_history():
    D = ag.diagnostics
    with pytest.raises(ag.models.NotFittedError, match="MLPClassifier is not fitted"):
        D.gradient_report(ag.models.MLPClassifier(), np.ones((3, 2)))
    with pytest.raises(ag.models.NotFittedError, match="MLPRegressor is not fitted"):
        D.layers_of(ag.models.MLPRegressor())
    with pytest.raises(ValueError, match=r"X must have shape \(n, 4\) with n >= 1, got \(0, 4\)"):
        D.gradient_report(ag.nn.Linear(4, 2), np.ones((0, 4)))   # was a report of zeros
    for bad in ([], [3.0], ()):
        with pytest.raises(ValueError, match="non-empty list of dicts"):
            D.plot_update_ratios(bad)                             # was an IndexError
    # an activation module with settings the report cannot model names what it can
    for m in (ag.nn.Softplus(beta=2.0), ag.nn.GELU(approximate="tanh"), ag.nn.LayerNorm(3)):
        with pytest.raises(TypeError, match=r"cannot analyse module '1'.*Softplus\(beta=1\)"):
            D.layers_of(ag.nn.Sequential(ag.nn.Linear(2, 3), m, ag.nn.Linear(3, 1)))


# ---- docs/guide/models.md ---------------------------------------------------------------------

def test_the_estimators_work_in_scikit_learns_tools_as_the_models_guide_says():
    pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    M = ag.models
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)) * [1.0, 10.0, 0.1]
    y = (X[:, 0] + X[:, 1] / 10 > 0).astype(int)
    for cls in (M.LogisticRegression, M.SoftmaxRegression, M.LinearClassifier, M.MLPClassifier,
                M.MLPRegressor):
        assert "sample_weight" in inspect.signature(cls.fit).parameters
        assert "sample_weight" in inspect.signature(cls.partial_fit).parameters
        est = cls(alpha=0.5)
        assert clone(est).get_params() == est.get_params()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = make_pipeline(StandardScaler(), M.LogisticRegression()).fit(X, y)
        assert pipe.score(X, y) > 0.9
        grid = GridSearchCV(M.LogisticRegression(), {"alpha": [1e-4, 10.0]}, cv=2).fit(X, y)
        assert list(grid.cv_results_["param_alpha"]) == [1e-4, 10.0]
        assert isinstance(grid.best_estimator_, M.LogisticRegression)
        assert grid.best_estimator_.coef_.shape == (1, 3)
        hinge = M.LinearClassifier().fit(X, y)
        assert not hasattr(hinge, "predict_proba") and hinge.decision_function(X).shape == (60,)
        assert M.LinearClassifier(loss="log").fit(X, y).predict_proba(X).shape == (60, 2)
        with pytest.raises(ValueError, match="balanced"):
            M.LogisticRegression(class_weight="balanced").partial_fit(X, y, classes=[0, 1])
