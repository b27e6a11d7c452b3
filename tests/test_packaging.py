"""Packaging and runtime configuration: version metadata, show_config(), the ISA switch
(AUTOGRAD_C_ISA) and the OpenMP runtime seen by threadpoolctl.

These run the same against the source tree (built in place) and against an installed wheel
(tools/check_wheel.sh, cibuildwheel's test-command).
"""
import importlib.metadata
import io
import json
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import threadpoolctl  # noqa: F401  (a declared test requirement; see pyproject's [test] extra)

import autograd_c as ag

PKG_DIR = os.path.dirname(os.path.abspath(ag.__file__))


def run_python(code, tmp_path, **env):
    """Run `code` in a fresh interpreter that imports the same autograd_c as this process."""
    full_env = dict(os.environ)
    full_env.pop("AUTOGRAD_C_ISA", None)
    full_env.update(env)
    parent = os.path.dirname(PKG_DIR)
    full_env["PYTHONPATH"] = parent + os.pathsep + full_env.get("PYTHONPATH", "")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=full_env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"subprocess failed ({res.returncode}):\n{res.stderr}"
    return res.stdout


def shown():
    buf = io.StringIO()
    info = ag.show_config(file=buf)
    return info, buf.getvalue()


def isa_line(text):
    m = re.search(r"^\s*isa in use:\s+(\S+)", text, re.M)
    assert m, f"show_config printed no 'isa in use' line:\n{text}"
    return m.group(1)


# ------------------------------------------------------------------------------ show_config

def test_show_config_names_the_isa_the_gemm_kernel_uses():
    info, text = shown()
    assert info["isa"] == ag._core.isa()
    assert isa_line(text) == ag._core.isa()
    assert info["isa"] in info["available_isas"]
    assert info["available_isas"][-1] == ag._core.best_isa()
    assert info["available_isas"][0] == "generic"


def test_show_config_follows_the_kernel_table_switch():
    # each ISA this CPU supports: switch the GEMM table, check the report and the product
    rng = np.random.default_rng(3)
    a = rng.standard_normal((67, 45))
    b = rng.standard_normal((45, 38))
    before = ag._core.isa()
    try:
        for isa in ag.show_config(file=io.StringIO())["available_isas"]:
            ag._core._set_isa(isa)
            info, text = shown()
            assert ag._core.isa() == isa
            assert info["isa"] == isa and isa_line(text) == isa
            got = np.asarray(ag.matmul(ag.tensor(a, dtype="float64"), ag.tensor(b, dtype="float64")))
            np.testing.assert_allclose(got, a @ b, rtol=1e-12, atol=1e-12)
    finally:
        ag._core._set_isa(before)
    assert ag._core.isa() == before


def test_show_config_reports_version_compiler_and_threads():
    info, text = shown()
    assert text.splitlines()[0] == f"autograd_c {ag.__version__}"
    assert info["version"] == ag.__version__
    assert info["num_threads"] == ag.get_num_threads() >= 1
    assert f"threads:         {ag.get_num_threads()}" in text
    # setup.py records the compiler that built the extension (not just Python's)
    assert info["compiler"] and not info["compiler"].startswith("unknown"), info["compiler"]
    assert f"compiler:        {info['compiler']}" in text
    # threadpoolctl is installed for the tests, so the OpenMP runtime is named, not "unknown"
    assert info["openmp_runtimes"], "threadpoolctl found no OpenMP runtime for autograd_c"
    assert "unknown" not in info["openmp_runtime"]


def test_show_config_thread_count_follows_set_num_threads():
    n0 = ag.get_num_threads()
    try:
        ag.set_num_threads(1)
        assert ag.show_config(file=io.StringIO())["num_threads"] == 1
    finally:
        ag.set_num_threads(n0)
    assert ag.get_num_threads() == n0


def test_omp_num_threads_is_honoured(tmp_path):
    out = run_python("import autograd_c as ag; print(ag.get_num_threads()); "
                     "print(ag.show_config(file=open(__import__('os').devnull, 'w'))['num_threads'])",
                     tmp_path, OMP_NUM_THREADS="1")
    assert out.split() == ["1", "1"]


# ------------------------------------------------------------------------------ version

def _metadata_version_for_imported_package():
    """The version in the distribution metadata that belongs to the imported package.

    Installed from a wheel: importlib.metadata, after checking that the installed files are the
    ones imported.  pip install -e: the same, checking that the editable install points at this
    source tree.  Built in place without installing: the version setuptools would write, read
    from pyproject.toml by setuptools itself.
    """
    src_root = os.path.dirname(PKG_DIR)
    try:
        dist = importlib.metadata.distribution("autograd_c")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        inits = [f for f in (dist.files or [])
                 if str(f).replace("\\", "/").endswith("autograd_c/__init__.py")]
        if inits:
            assert os.path.samefile(dist.locate_file(inits[0]), ag.__file__), (
                f"installed autograd_c metadata belongs to {dist.locate_file(inits[0])}, "
                f"but {ag.__file__} was imported")
            return dist.version
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
        if direct.get("dir_info", {}).get("editable"):
            from urllib.parse import unquote, urlparse
            path = unquote(urlparse(direct["url"]).path)
            if sys.platform == "win32" and re.match(r"/[A-Za-z]:", path):
                path = path[1:]
            if os.path.samefile(path, src_root):
                return dist.version
    pyproject = os.path.join(src_root, "pyproject.toml")
    assert os.path.exists(pyproject), (
        f"no metadata for the imported autograd_c ({ag.__file__}): neither installed nor in a "
        "source tree")
    from setuptools.config.pyprojecttoml import read_configuration
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = read_configuration(pyproject, expand=True)
    return cfg["project"]["version"]


def test_version_matches_metadata():
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?(a|b|rc|dev|post)\d+)*", ag.__version__)
    assert _metadata_version_for_imported_package() == ag.__version__
    from autograd_c._version import __version__ as single_source
    assert single_source == ag.__version__


# ------------------------------------------------------------------------------ AUTOGRAD_C_ISA

def test_isa_env_generic_forces_the_generic_kernels(tmp_path):
    out = run_python("import autograd_c as ag, os\n"
                     "info = ag.show_config(file=open(os.devnull, 'w'))\n"
                     "print(ag._core.isa(), info['isa'], ag._core.isa_warning())",
                     tmp_path, AUTOGRAD_C_ISA="generic")
    assert out.split() == ["generic", "generic", "None"]


def test_isa_env_selects_each_supported_isa(tmp_path):
    for isa in ag.show_config(file=io.StringIO())["available_isas"]:
        out = run_python("import autograd_c as ag; print(ag._core.isa())", tmp_path,
                         AUTOGRAD_C_ISA=isa)
        assert out.strip() == isa


def test_unknown_isa_env_gives_a_warning_not_a_crash(tmp_path):
    out = run_python(
        "import json, os, numpy as np, autograd_c as ag\n"
        "a = np.arange(12.0).reshape(3, 4)\n"
        "c = np.asarray(ag.matmul(ag.tensor(a, dtype='float64'), ag.tensor(a.T, dtype='float64')))\n"
        "info = ag.show_config(file=open(os.devnull, 'w'))\n"
        "print(json.dumps({'isa': ag._core.isa(), 'best': ag._core.best_isa(),\n"
        "                  'warning': ag._core.isa_warning(), 'shown': info['isa_warning'],\n"
        "                  'ok': bool(np.allclose(c, a @ a.T))}))",
        tmp_path, AUTOGRAD_C_ISA="avx9000")
    res = json.loads(out)
    assert res["ok"]
    assert res["isa"] == res["best"]
    assert isinstance(res["warning"], str) and "AUTOGRAD_C_ISA" in res["warning"]
    assert res["shown"] == res["warning"]


# ------------------------------------------------------------------------------ OpenMP runtimes

OPENMP_PROBE = """
import json, sys
before, after = json.loads(sys.argv[1])
for name in before:
    __import__(name)
import numpy as np, autograd_c as ag
a = ag.tensor(np.ones((256, 256)), dtype="float64")
(a @ a).numpy()                       # runs the OpenMP-parallel GEMM
for name in after:
    __import__(name)
if "torch" in sys.modules:
    import torch
    torch.ones(256, 256).matmul(torch.ones(256, 256))
from threadpoolctl import threadpool_info
print(json.dumps([m for m in threadpool_info() if m["user_api"] == "openmp"]))
"""


def openmp_runtime_paths(tmp_path, before=(), after=()):
    code = "import sys; sys.argv[1:] = [%r]\n%s" % (json.dumps([list(before), list(after)]),
                                                     OPENMP_PROBE)
    mods = json.loads(run_python(code, tmp_path).strip().splitlines()[-1])
    return sorted({os.path.realpath(m["filepath"]) for m in mods})


def test_one_openmp_runtime_with_numpy(tmp_path):
    # autograd_c brings exactly one OpenMP runtime, whether numpy is imported first or not
    for before in (["numpy"], []):
        paths = openmp_runtime_paths(tmp_path, before=before)
        assert len(paths) == 1, f"expected one OpenMP runtime, threadpoolctl sees {paths}"


def test_one_openmp_runtime_with_torch(tmp_path):
    pytest.importorskip("torch")
    for before, after in ((["torch"], []), ([], ["torch"])):
        paths = openmp_runtime_paths(tmp_path, before=before, after=after)
        assert len(paths) == 1, (
            f"torch imported {'before' if before else 'after'} autograd_c: threadpoolctl sees "
            f"{len(paths)} OpenMP runtimes: {paths}")
