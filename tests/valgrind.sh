#!/usr/bin/env bash
# Optional: run the test suite under valgrind memcheck, with the C engine built
# -O1 -g in a throwaway copy of the tree and venv.  Fails (exit 1) on any
# memcheck error whose stack passes through the engine (autograd/_engine*.so):
# CPython itself is not valgrind-clean, so its own reports are listed but do
# not fail the run.  Slow (~30-50x): by default it runs the suite with small
# fuzz/stress settings; pass pytest arguments to choose tests.
#
#   tests/valgrind.sh                       # whole suite, small settings
#   tests/valgrind.sh tests/test_faults.py  # one file
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)"; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/autograd-valgrind.XXXXXX")"
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

mkdir -p "$work/src" "$work/logs"
if git -C "$here" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$here" && git ls-files -z --cached --others --exclude-standard \
        | xargs -0 -I{} sh -c 'test -e "{}" && cp --parents "{}" "$0"' "$work/src")
else
    cp -r "$here/." "$work/src"
    find "$work/src" \( -name '*.so' -o -name build -o -name '*.egg-info' \) -prune -exec rm -rf {} +
fi

python3 -m venv "$work/venv"
# shellcheck disable=SC1091
. "$work/venv/bin/activate"
export AUTOGRAD_STRICT_BUILD=1
export AUTOGRAD_EXTRA_CFLAGS="-O1 -g -fno-omit-frame-pointer"
if ! (cd "$work/src" && python -m pip install -e ".[test]" numpy) >"$work/build.log" 2>&1; then
    cat "$work/build.log"; echo "valgrind.sh: the build failed"; exit 1
fi

echo "== running the suite under valgrind memcheck (slow)"
status=0
(
    cd "$work/src"
    export PYTHONMALLOC=malloc AUTOGRAD_REQUIRE_C=1 AUTOGRAD_SANITIZER=valgrind
    export AUTOGRAD_FUZZ_EXAMPLES="${AUTOGRAD_FUZZ_EXAMPLES:-10}" AUTOGRAD_STRESS_SECONDS="${AUTOGRAD_STRESS_SECONDS:-0.5}"
    valgrind --tool=memcheck --trace-children=no --track-origins=yes --num-callers=30 \
        --leak-check=no --log-file="$work/logs/memcheck.%p" \
        python -m pytest -q -p no:cacheprovider "${@:-tests}"
) || status=$?

engine_errors=0
for f in "$work/logs"/memcheck.*; do
    # an error block starts with "==pid== <kind>" and ends at an empty "==pid==" line
    n=$(awk '/^==[0-9]+== [A-Z]/ {blk=$0; inblk=1; next}
             inblk && /^==[0-9]+== *$/ {if (blk ~ /_engine|arena\.c|sweep\.c|tape\.c|stale\.c|ops\.c|rules\.h|tile\.h/) c++; inblk=0; blk=""; next}
             inblk {blk=blk "\n" $0}
             END {print c+0}' "$f")
    total=$(grep -c "^==[0-9]*== [A-Z][a-z].*\(Invalid\|uninitialised\|Mismatched\|overlap\)" "$f" || true)
    echo "-- $f: $total memcheck error(s), $n through the engine"
    grep "ERROR SUMMARY" "$f" || true
    if [ "$n" -gt 0 ]; then
        engine_errors=$((engine_errors + n))
        cat "$f"
    fi
done
if [ "$engine_errors" -gt 0 ]; then status=1; fi
if [ "$status" -eq 0 ]; then
    echo "== valgrind.sh: clean (no memcheck error in the engine, suite passed)"
else
    echo "== valgrind.sh: FAILED (status $status, $engine_errors engine error(s))"
fi
exit "$status"
