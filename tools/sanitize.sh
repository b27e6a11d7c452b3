#!/usr/bin/env bash
# tools/sanitize.sh -- build autograd_c with AddressSanitizer + UndefinedBehaviorSanitizer into a
# scratch copy of the tree (the normal in-place build is untouched) and run the test suite under
# it with leak detection on.  Python itself is not instrumented, so libasan is LD_PRELOADed.
#
#   tools/sanitize.sh                 # whole suite
#   tools/sanitize.sh tests/test_hostile.py -k zero   # any pytest arguments
#
# Env: SANITIZE_DIR (scratch dir, default: a fresh mktemp dir), SANITIZE_REUSE=1 (skip the
#      rebuild when SANITIZE_DIR already holds an instrumented build; sources are re-copied),
#      AUTOGRAD_C_FUZZ (hypothesis profile; default "sanitize": fewer examples, ASan is ~3x slower).
# Exit status: non-zero when a test fails, when ASan/UBSan report an error (they abort the
# process), or when LeakSanitizer finds a leak allocated from autograd_c's own code.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CC="${CC:-gcc}"
PY="$(python -c 'import sys; print(sys.executable)')"   # the real interpreter, not a shim script
LIBASAN="$($CC -print-file-name=libasan.so)"
[ -f "$LIBASAN" ] || { echo "sanitize.sh: libasan.so not found for $CC" >&2; exit 2; }

if [ -n "${SANITIZE_DIR:-}" ]; then WORK="$SANITIZE_DIR"; mkdir -p "$WORK"; else WORK="$(mktemp -d /tmp/ag_sanitize.XXXXXX)"; fi
echo "sanitize.sh: scratch tree $WORK"
# copy tracked + untracked-not-ignored files (never the in-place .so or build/)
(cd "$ROOT" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | (cd "$WORK" && tar -xf -)

# the build tools setup.py needs (pip's isolated build env has them; a plain venv may not)
"$PY" -c "import Cython, setuptools, numpy" 2>/dev/null || "$PY" -m pip install -q "Cython>=3.0" "setuptools>=64" numpy

t0=$(date +%s)
if [ "${SANITIZE_REUSE:-0}" = 1 ] && ls "$WORK"/autograd_c/_core*.so >/dev/null 2>&1; then
    echo "sanitize.sh: SANITIZE_REUSE=1, reusing the instrumented build in $WORK"
else (
    cd "$WORK"
    export CC
    export AUTOGRAD_C_EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
    export AUTOGRAD_C_EXTRA_LDFLAGS="-fsanitize=address,undefined"
    "$PY" setup.py build_ext --inplace -j 2 >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 2; }
) fi
t1=$(date +%s)
echo "sanitize.sh: build took $((t1 - t0)) s"

LOGDIR="$WORK/sanitizer_logs"; rm -rf "$LOGDIR"; mkdir -p "$LOGDIR"
# ASan/UBSan errors abort the process (non-zero exit).  Leaks are written to $LOGDIR and filtered
# below: only leaks allocated from autograd_c (csrc/ or the extension) fail the run; CPython's and
# numpy's own at-exit leftovers (lsan.supp names the usual ones) are counted, not failed.
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=0:check_initialization_order=1:allocator_may_return_null=1:exitcode=99:log_path=$LOGDIR/asan"
export LSAN_OPTIONS="suppressions=$ROOT/tools/lsan.supp:print_suppressions=0:exitcode=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$LOGDIR/ubsan"
# PYTHONMALLOC stays pymalloc: small CPython objects live in arenas LSan does not track, which
# keeps the interpreter's own at-exit "leaks" out of the report.
export AUTOGRAD_C_FUZZ="${AUTOGRAD_C_FUZZ:-sanitize}"
export AUTOGRAD_C_SANITIZED=1           # tests whose numbers ASan distorts (RSS) adapt
cd "$WORK"
set +e
LD_PRELOAD="$LIBASAN" "$PY" -m pytest -q -p no:cacheprovider "${@:-tests}"
rc=$?
set -e
t2=$(date +%s)
"$PY" - "$LOGDIR" <<'PYEOF'
import glob, re, sys
ours, theirs, errors = [], 0, []
for path in sorted(glob.glob(sys.argv[1] + "/*")):
    text = open(path, errors="replace").read()
    for block in re.split(r"\n(?=(?:Direct|Indirect) leak of )", text):
        if re.match(r"(Direct|Indirect) leak of ", block):
            if re.search(r"csrc/|autograd_c/|\b_core\.c:", block):  # not other packages' _core.cpython-*.so
                ours.append(block.split("\n\n")[0])
            else:
                theirs += 1
    if re.search(r"ERROR: AddressSanitizer: (?!.*leak)|runtime error:", text):
        errors.append(path)
for e in errors:
    print(open(e, errors="replace").read()[:6000])
for b in ours[:20]:
    print(b, "\n")
print(f"sanitize.sh: ASan/UBSan error reports: {len(errors)}; leaks from autograd_c: {len(ours)}; "
      f"other leak records (CPython/numpy at exit, not failed): {theirs}")
sys.exit(1 if errors or ours else 0)
PYEOF
lrc=$?
echo "sanitize.sh: tests took $((t2 - t1)) s, pytest exit status $rc, sanitizer verdict $lrc"
[ "$rc" -ne 0 ] && exit "$rc"
exit $lrc
