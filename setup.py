"""Build of autograd_c: the C core (csrc/) and the Cython binding in one extension module.

Per-ISA kernel files (*_avx512.c, *_avx2.c) are compiled with their own instruction-set flags
only; everything else gets portable flags, and the core picks a kernel table at import time
(runtime dispatch).  A shipped build never uses -march=native; AUTOGRAD_C_NATIVE=1 opts a local
source build into it.

Environment variables read here:
  AUTOGRAD_C_NATIVE=1           add -march=native (local builds only, never wheels)
  AUTOGRAD_C_EXTRA_CFLAGS       extra compiler flags (split on whitespace)
  AUTOGRAD_C_EXTRA_LDFLAGS      extra linker flags
  AUTOGRAD_C_OPENMP_PREFIX      macOS: prefix holding include/omp.h and lib/libomp.dylib
                                (default: Homebrew's libomp, if present)
  AUTOGRAD_C_BUILD_JOBS         parallel compile jobs (default: build_ext -j, else CPU count)

The compiler and flags used are written to autograd_c/_build_info.py next to the extension,
for autograd_c.show_config().
"""
import glob
import os
import platform
import pprint
import re
import subprocess
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ISA_FLAGS_GCC = {
    "_avx512.c": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mfma"],
    "_avx2.c": ["-mavx2", "-mfma"],
}
ISA_FLAGS_MSVC = {"_avx512.c": ["/arch:AVX512"], "_avx2.c": ["/arch:AVX2"]}


def target_machine():
    """The CPU the extension is built for (not necessarily the build host's).

    sysconfig.get_platform() honours _PYTHON_HOST_PLATFORM (set by cibuildwheel and by
    cross-compiling setups); on macOS a single-arch ARCHFLAGS wins.
    """
    if sys.platform == "darwin" and os.environ.get("ARCHFLAGS"):
        archs = re.findall(r"-arch\s+(\S+)", os.environ["ARCHFLAGS"])
        if len(set(archs)) == 1:
            return archs[0].lower()
    plat = sysconfig.get_platform().lower()
    return plat.rsplit("-", 1)[-1] if "-" in plat else platform.machine().lower()


IS_X86 = target_machine() in ("x86_64", "amd64", "x64", "intel")


def c_sources():
    files = sorted(glob.glob("csrc/*.c") + glob.glob("csrc/ops/*.c") + glob.glob("csrc/kernels/*.c"))
    if not IS_X86:
        files = [f for f in files if not f.endswith(tuple(ISA_FLAGS_GCC))]
    return files


def macos_openmp_prefix():
    prefix = os.environ.get("AUTOGRAD_C_OPENMP_PREFIX")
    if prefix:
        return prefix
    for cand in ("/opt/homebrew/opt/libomp", "/usr/local/opt/libomp"):
        if os.path.exists(os.path.join(cand, "include", "omp.h")):
            return cand
    return None


def compiler_version(compiler):
    """First line of the C compiler's version banner, or its name when it cannot be run."""
    if compiler.compiler_type == "msvc":
        if not getattr(compiler, "initialized", True):
            compiler.initialize()
        cmd = [getattr(compiler, "cc", "cl.exe")]
        name = "msvc"
    else:
        cmd = [compiler.compiler_so[0], "--version"]
        name = os.path.basename(compiler.compiler_so[0])
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        lines = (res.stdout + res.stderr).strip().splitlines()
        return lines[0].strip() if lines else name
    except (OSError, subprocess.SubprocessError):
        return name


def _cythonized_for_other_numpy(pyx):
    """Whether the C file Cython generated from ``pyx`` cimported another numpy's declarations
    (a build for another Python or numpy in the same checkout, or pip's isolated build env):
    Cython compares timestamps only, so it would keep that C file, which need not compile
    against this numpy's headers."""
    if not pyx.endswith(".pyx"):
        return False
    try:
        with open(os.path.join(HERE, pyx[:-4] + ".c"), encoding="utf-8", errors="replace") as f:
            head = f.read(8192)        # Cython's metadata block lists the headers it used
    except OSError:
        return False
    return "/numpy/" in head and numpy.get_include() not in head


class BuildExt(build_ext):
    """Compile each ISA file with its own flags, the rest with the portable ones, in parallel."""

    def run(self):
        # Cython runs here, not when setup.py is loaded, so `sdist` (and metadata queries)
        # neither need nor write the generated _core.c
        for ext in self.extensions:
            (done,) = cythonize([ext], quiet=True, compiler_directives={"language_level": "3"},
                                force=any(_cythonized_for_other_numpy(src) for src in ext.sources))
            ext.sources = done.sources
        # setuptools clears self.inplace while building and copies the results afterwards
        self._want_inplace = bool(self.inplace)
        super().run()

    def _jobs(self):
        env = os.environ.get("AUTOGRAD_C_BUILD_JOBS")
        if env:
            return max(1, int(env))
        par = self.parallel if isinstance(self.parallel, int) and self.parallel > 1 else 0
        return par or os.cpu_count() or 1

    def _parallel_compile(self, jobs):
        """Make self.compiler.compile run one compiler process per source, `jobs` at a time."""
        serial = self.compiler.compile

        def compile(sources, *args, **kwargs):
            if len(sources) < 2 or jobs < 2:
                return serial(sources, *args, **kwargs)
            with ThreadPoolExecutor(jobs) as pool:
                parts = list(pool.map(lambda s: serial([s], *args, **kwargs), sources))
            return [obj for part in parts for obj in part]

        self.compiler.compile = compile
        return serial

    def build_extension(self, ext):
        msvc = self.compiler.compiler_type == "msvc"
        if msvc and not getattr(self.compiler, "initialized", True):
            self.compiler.initialize()  # once, before any thread uses it
        mac = sys.platform == "darwin"
        include_dirs = list(ext.include_dirs)
        link = []
        if msvc:
            # OpenMP 2.0: loop indices of `omp for` must be signed (the core uses int64_t);
            # /std:c11 gives the C99/C11 _Pragma operator the core's OpenMP macros use
            common = ["/O2", "/openmp", "/std:c11"]
            openmp = "/openmp (MSVC, vcomp)"
        elif mac:
            # Apple clang: the driver does not know -fopenmp, the preprocessor does; link libomp
            common = ["-O3", "-Xpreprocessor", "-fopenmp", "-fno-math-errno", "-fno-trapping-math"]
            prefix = macos_openmp_prefix()
            if prefix:
                include_dirs.append(os.path.join(prefix, "include"))
                libdir = os.path.join(prefix, "lib")
                link = ["-L" + libdir, "-Wl,-rpath," + libdir]
            link.append("-lomp")
            openmp = "-Xpreprocessor -fopenmp, libomp" + (f" from {prefix}" if prefix else "")
        else:
            # -fno-trapping-math: nothing here enables FP traps, and without it GCC keeps
            # `g * (x > 0)` (ReLU's backward) as a branch per element instead of a vector blend
            # (15x slower on random signs).  Results are unchanged: no fast-math.
            common = ["-O3", "-fopenmp", "-fno-math-errno", "-fno-trapping-math"]
            link = ["-fopenmp"]
            openmp = "-fopenmp"
        native = os.environ.get("AUTOGRAD_C_NATIVE") == "1" and not msvc
        if native:
            common.append("-march=native")  # opt-in local build only, never for wheels
        extra_cflags = os.environ.get("AUTOGRAD_C_EXTRA_CFLAGS", "").split()
        extra_ldflags = os.environ.get("AUTOGRAD_C_EXTRA_LDFLAGS", "").split()
        table = ISA_FLAGS_MSVC if msvc else ISA_FLAGS_GCC
        special = [s for s in ext.sources if s.endswith(tuple(table))]
        ext.sources = [s for s in ext.sources if s not in special]
        ext.include_dirs = include_dirs

        jobs = self._jobs()
        serial = self._parallel_compile(jobs)
        try:
            def compile_isa(src):
                flags = next(v for k, v in table.items() if src.endswith(k))
                return serial([src], output_dir=self.build_temp, include_dirs=include_dirs,
                              macros=ext.define_macros,
                              extra_postargs=common + flags + extra_cflags)

            with ThreadPoolExecutor(max(1, min(jobs, len(special) or 1))) as pool:
                objects = [o for objs in pool.map(compile_isa, special) for o in objs]
            ext.extra_objects = list(ext.extra_objects or []) + objects
            # relink when an ISA file or a header changes (extra_objects are not checked, and the
            # headers are not sources): setuptools skips an extension whose depends are older
            headers = glob.glob("csrc/**/*.h", recursive=True) + glob.glob("csrc/**/*.def", recursive=True)
            ext.depends = list(ext.depends or []) + special + headers
            ext.extra_compile_args = common + extra_cflags
            ext.extra_link_args = link + extra_ldflags
            super().build_extension(ext)
        finally:
            self.compiler.compile = serial

        info = {
            "compiler": compiler_version(self.compiler),
            "compiler_type": self.compiler.compiler_type,
            "cflags": common + extra_cflags,
            "ldflags": link + extra_ldflags,
            "isa_files": {os.path.basename(s): next(v for k, v in table.items() if s.endswith(k))
                          for s in special},
            "openmp": openmp,
            "native": native,
            "target": sysconfig.get_platform(),
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "cython": __import__("Cython").__version__,
        }
        self._write_build_info(ext, info)

    def _write_build_info(self, ext, info):
        text = ('"""Generated by setup.py at build time: how this copy of the extension was '
                'built."""\nBUILD_INFO = ' + pprint.pformat(info, width=96) + "\n")
        dirs = {os.path.dirname(self.get_ext_fullpath(ext.name))}
        if getattr(self, "_want_inplace", False) or getattr(self, "editable_mode", False):
            dirs.add(os.path.join(HERE, *ext.name.split(".")[:-1]))
        for d in dirs:
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "_build_info.py"), "w") as f:
                f.write(text)


ext = Extension(
    "autograd_c._core",
    sources=["autograd_c/_core.pyx"] + c_sources(),
    include_dirs=[os.path.join(HERE, "csrc"), numpy.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
)

setup(ext_modules=[ext], cmdclass={"build_ext": BuildExt})
