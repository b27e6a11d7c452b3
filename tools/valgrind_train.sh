#!/usr/bin/env bash
# tools/valgrind_train.sh -- valgrind memcheck over a short training loop (tools/train_loop.py)
# using the normal in-place build (python setup.py build_ext --inplace first).
#
#   tools/valgrind_train.sh [steps]        (default 100: about 15 s on 2 cores)
#
# Fails (non-zero) on any memcheck error (invalid read/write, use of uninitialised memory,
# invalid free) whose stack or origin passes through autograd_c (the extension or csrc/), and on
# any "definitely lost" block allocated from autograd_c's code.  Reports that never touch
# autograd_c are counted and listed in the log but do not fail the run: CPython 3.11 under
# valgrind reports uninitialised reads from its small-int cache (maybe_small_long, and their
# consequences in the eval loop and gc) and ld.so's strncmp over-reads; numpy and CPython leave
# definitely-lost blocks at exit.  The kernels run on the AVX2 path (valgrind does not
# emulate AVX-512) and on one thread.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STEPS="${1:-100}"
PY="$(python -c 'import sys; print(sys.executable)')"
LOG="${VALGRIND_LOG:-$(mktemp /tmp/ag_valgrind.XXXXXX.log)}"
command -v valgrind >/dev/null || { echo "valgrind_train.sh: valgrind not installed" >&2; exit 2; }
ls "$ROOT"/autograd_c/_core*.so >/dev/null 2>&1 || { echo "valgrind_train.sh: build first" >&2; exit 2; }

t0=$(date +%s)
set +e
cd "$ROOT"
PYTHONMALLOC=malloc AUTOGRAD_C_ISA=avx2 OMP_NUM_THREADS=1 PYTHONPATH="$ROOT" \
valgrind --tool=memcheck --track-origins=yes --num-callers=40 \
    --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=none \
    --log-file="$LOG" "$PY" tools/train_loop.py "$STEPS"
rc=$?
set -e
t1=$(date +%s)
# definite leaks whose stack passes through autograd_c (the extension module or csrc/)
ours=$(awk 'BEGIN{RS="==[0-9]+== \n"} /definitely lost/ && /(_core\.cpython|csrc\/|autograd_c)/ {n++} END{print n+0}' "$LOG")
# memory errors whose stack or origin passes through autograd_c
errs=$(awk 'BEGIN{RS="==[0-9]+== \n"} /(Invalid|uninitialised|Mismatched|Source and destination overlap)/ && /(_core\.cpython|csrc\/|autograd_c)/ {n++} END{print n+0}' "$LOG")
total=$(grep -Eo "ERROR SUMMARY: [0-9]+ errors from [0-9]+ contexts" "$LOG" | tail -1)
echo "valgrind_train.sh: $((t1 - t0)) s; memcheck errors in autograd_c: $errs; definite leaks from autograd_c: $ours; all reports (CPython/ld.so included): ${total:-?}; log: $LOG"
if [ "$rc" -ne 0 ]; then echo "valgrind_train.sh: train_loop.py failed (exit $rc)"; exit "$rc"; fi
if [ "$errs" -ne 0 ] || [ "$ours" -ne 0 ]; then
    awk 'BEGIN{RS="==[0-9]+== \n"} /(Invalid|uninitialised|definitely lost)/ && /(_core\.cpython|csrc\/|autograd_c)/' "$LOG" | head -150
    exit 43
fi
