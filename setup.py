"""Build of autograd_c: the C core (csrc/) and the Cython binding in one extension module.

Per-ISA kernel files (*_avx512.c, *_avx2.c) are compiled with their own instruction-set flags
only; everything else gets portable flags, and the core picks a kernel table at import time
(runtime dispatch).  A shipped build never uses -march=native; AUTOGRAD_C_NATIVE=1 opts a local
source build into it.
"""
import glob
import os
import platform
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
IS_X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")
ISA_FLAGS_GCC = {
    "_avx512.c": ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mfma"],
    "_avx2.c": ["-mavx2", "-mfma"],
}
ISA_FLAGS_MSVC = {"_avx512.c": ["/arch:AVX512"], "_avx2.c": ["/arch:AVX2"]}


def c_sources():
    files = sorted(glob.glob("csrc/*.c") + glob.glob("csrc/ops/*.c") + glob.glob("csrc/kernels/*.c"))
    if not IS_X86:
        files = [f for f in files if not f.endswith(tuple(ISA_FLAGS_GCC))]
    return files


class BuildExt(build_ext):
    """Compile each ISA file with its own flags, the rest with the portable ones."""

    def build_extension(self, ext):
        msvc = self.compiler.compiler_type == "msvc"
        clang_mac = sys.platform == "darwin"
        if msvc:
            common = ["/O2", "/openmp"]
            link = []
        elif clang_mac:
            common = ["-O3", "-Xpreprocessor", "-fopenmp"]
            link = ["-lomp"]
        else:
            common = ["-O3", "-fopenmp", "-fno-math-errno"]
            link = ["-fopenmp"]
        if os.environ.get("AUTOGRAD_C_NATIVE") == "1" and not msvc:
            common.append("-march=native")  # opt-in local build only, never for wheels
        extra_cflags = os.environ.get("AUTOGRAD_C_EXTRA_CFLAGS", "").split()
        table = ISA_FLAGS_MSVC if msvc else ISA_FLAGS_GCC
        special = [s for s in ext.sources if s.endswith(tuple(table))]
        ext.sources = [s for s in ext.sources if s not in special]
        objects = []
        for src in special:
            flags = next(v for k, v in table.items() if src.endswith(k))
            objects += self.compiler.compile(
                [src], output_dir=self.build_temp, include_dirs=ext.include_dirs,
                macros=ext.define_macros, extra_postargs=common + flags + extra_cflags)
        ext.extra_objects = list(ext.extra_objects or []) + objects
        ext.extra_compile_args = common + extra_cflags
        ext.extra_link_args = link + os.environ.get("AUTOGRAD_C_EXTRA_LDFLAGS", "").split()
        super().build_extension(ext)


ext = Extension(
    "autograd_c._core",
    sources=["autograd_c/_core.pyx"] + c_sources(),
    include_dirs=[os.path.join(HERE, "csrc"), numpy.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
)

setup(
    ext_modules=cythonize([ext], compiler_directives={"language_level": "3"}, quiet=True),
    cmdclass={"build_ext": BuildExt},
)
