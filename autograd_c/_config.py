"""show_config(): how this copy of autograd_c was built and what it runs on."""
import os
import sys
import sysconfig

from . import _core
from ._version import __version__

# x86 kernel tables, lowest first; a CPU that supports one supports the ones before it
_ISA_ORDER = ("generic", "avx2", "avx512")


def _build_info():
    try:
        from ._build_info import BUILD_INFO
    except ImportError:  # built by something other than setup.py's build_ext
        return {"compiler": "unknown (not recorded at build time; Python was built with "
                            f"{sysconfig.get_config_var('CC') or 'an unknown compiler'})"}
    return dict(BUILD_INFO)


def _core_path():
    return os.path.realpath(_core.__file__)


def _openmp_runtimes():
    """The OpenMP runtimes loaded in this process, as threadpoolctl reports them.

    Returns None when threadpoolctl is not installed.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [
        {"filepath": m.get("filepath"), "prefix": m.get("prefix"),
         "internal_api": m.get("internal_api"), "version": m.get("version"),
         "num_threads": m.get("num_threads")}
        for m in threadpool_info() if m.get("user_api") == "openmp"
    ]


def available_isas():
    """The kernel ISAs this CPU can run, lowest first (what AUTOGRAD_C_ISA may select)."""
    best = _core.best_isa()
    if best not in _ISA_ORDER:
        return [best]
    return list(_ISA_ORDER[: _ISA_ORDER.index(best) + 1])


def config_info():
    """The facts show_config() prints, as a dict (see show_config)."""
    build = _build_info()
    runtimes = _openmp_runtimes()
    if runtimes is None:
        runtime_text = "unknown (install threadpoolctl to see it)"
    elif not runtimes:
        runtime_text = "none loaded"
    else:
        runtime_text = "; ".join(
            f"{r['prefix']}" + (f" {r['version']}" if r["version"] else "")
            + f" [{r['internal_api']}, {r['num_threads']} threads] ({r['filepath']})"
            for r in runtimes)
    return {
        "version": __version__,
        "python": sys.version.split()[0],
        "platform": sysconfig.get_platform(),
        "core": _core_path(),
        "compiler": build.get("compiler", "unknown"),
        "build": build,
        "openmp_runtime": runtime_text,
        "openmp_runtimes": runtimes,
        "num_threads": _core.get_num_threads(),
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "isa": _core.isa(),
        "best_isa": _core.best_isa(),
        "available_isas": available_isas(),
        "isa_env": os.environ.get("AUTOGRAD_C_ISA"),
        "isa_warning": _core.isa_warning(),
    }


def show_config(file=None):
    """Print how autograd_c was built and what it uses at run time.

    Prints the version, the compiler and flags recorded at build time, the OpenMP runtime(s)
    loaded in the process (through threadpoolctl when installed, else "unknown") and the thread
    count, the instruction set the kernels use now (the GEMM kernel table) and those this CPU
    can use.

    Parameters
    ----------
    file : file-like, optional
        Where to print (default ``sys.stdout``).

    Returns
    -------
    dict
        The same facts: keys ``version``, ``compiler``, ``build``, ``openmp_runtime``,
        ``openmp_runtimes`` (list, or None without threadpoolctl), ``num_threads``, ``isa``,
        ``best_isa``, ``available_isas``, ``isa_env``, ``isa_warning`` and a few more.

    Examples
    --------
    >>> import autograd_c as ag
    >>> info = ag.show_config()  # doctest: +SKIP
    autograd_c 0.1.0
    ...
    >>> info["isa"] in info["available_isas"]  # doctest: +SKIP
    True
    """
    info = config_info()
    build = info["build"]
    lines = [
        f"autograd_c {info['version']}",
        f"  python:          {info['python']} ({info['platform']})",
        f"  core module:     {info['core']}",
        f"  compiler:        {info['compiler']}",
    ]
    if "cflags" in build:
        lines.append(f"  cflags:          {' '.join(build['cflags'])}")
        for src, flags in sorted(build.get("isa_files", {}).items()):
            lines.append(f"    {src}: {' '.join(flags)}")
        lines.append(f"  openmp (build):  {build.get('openmp')}")
    lines += [
        f"  openmp runtime:  {info['openmp_runtime']}",
        f"  threads:         {info['num_threads']}"
        + (f" (OMP_NUM_THREADS={info['omp_num_threads_env']})"
           if info["omp_num_threads_env"] else ""),
        f"  isa in use:      {info['isa']}"
        + (f" (AUTOGRAD_C_ISA={info['isa_env']})" if info["isa_env"] else ""),
        f"  isa available:   {', '.join(info['available_isas'])} (best: {info['best_isa']})",
    ]
    if info["isa_warning"]:
        lines.append(f"  isa warning:     {info['isa_warning']}")
    print("\n".join(lines), file=file if file is not None else sys.stdout)
    return info
