#!/usr/bin/env bash
# Build the C engine with AddressSanitizer + UndefinedBehaviorSanitizer in a
# throwaway copy of the source tree and venv, then run the whole test suite
# under it.  Fails (exit 1) on a test failure or on any sanitizer report.
#
#   tests/sanitize.sh [pytest args...]      e.g. tests/sanitize.sh -k fuzz
#
# Why each piece (see the team notes, shared/NOTES.md, "Sanitizers with a cffi extension"):
#   -fno-wrapv                CPython builds with -fwrapv, which hides signed
#                             overflow from UBSan
#   -fno-sanitize-recover=all the first report aborts, so it cannot be missed
#   LD_PRELOAD=libasan        the ASan runtime must come first in the process
#   PYTHONMALLOC=malloc       Python's own allocations go through ASan too
#   log_path                  pytest captures stderr; reports go to files
#   detect_leaks=0            CPython leaks by design at exit; the engine's
#                             leak check is tests/valgrind.sh and the
#                             live_nodes assertions of the suite
# The copy keeps the sanitized .so out of the working tree (it would not import
# without the preload).  Set KEEP=1 to keep the temporary directory.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/autograd-sanitize.XXXXXX")"
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

echo "== copying the source tree to $work/src"
mkdir -p "$work/src" "$work/logs"
if git -C "$here" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$here" && git ls-files -z --cached --others --exclude-standard \
        | xargs -0 -I{} sh -c 'test -e "{}" && cp --parents "{}" "$0"' "$work/src")
else
    cp -r "$here/." "$work/src"
    find "$work/src" \( -name '*.so' -o -name build -o -name '*.egg-info' \) -prune -exec rm -rf {} +
fi

echo "== building the C engine with ASan + UBSan"
python3 -m venv "$work/venv"
# shellcheck disable=SC1091
. "$work/venv/bin/activate"
export AUTOGRAD_STRICT_BUILD=1
export AUTOGRAD_EXTRA_CFLAGS="-fsanitize=address,undefined -fno-wrapv -fno-sanitize-recover=all -O1 -g -fno-omit-frame-pointer"
if ! (cd "$work/src" && python -m pip install -e ".[test]" numpy) >"$work/build.log" 2>&1; then
    cat "$work/build.log"
    echo "sanitize.sh: the sanitized build failed"
    exit 1
fi

libasan="$(gcc -print-file-name=libasan.so)"
if [ ! -e "$libasan" ]; then echo "sanitize.sh: libasan.so not found (gcc -print-file-name)"; exit 1; fi

echo "== running the suite under the sanitizers"
status=0
(
    cd "$work/src"
    export LD_PRELOAD="$libasan"
    export PYTHONMALLOC=malloc
    # allocator_may_return_null: a huge request (a corrupted pickle's length
    # field) returns NULL, as glibc's malloc does, and Python raises
    # MemoryError, instead of ASan aborting the run
    export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=0:halt_on_error=1:log_path=$work/logs/asan"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$work/logs/ubsan"
    export AUTOGRAD_REQUIRE_C=1
    export AUTOGRAD_SANITIZER=asan   # tests that cannot run under ASan (ulimit -v) adapt
    python -m pytest -q -p no:cacheprovider "$@"
) || status=$?

# a log that only says a huge request was refused (and returned NULL, see
# allocator_may_return_null above) is not a report: Python raised MemoryError
for f in "$work/logs"/*; do
    [ -e "$f" ] || continue
    if ! grep -qv "WARNING: AddressSanitizer failed to allocate 0x" "$f"; then rm -f "$f"; fi
done
reports=$(find "$work/logs" -type f | wc -l)
if [ "$reports" -gt 0 ]; then
    echo "== sanitizer reports:"
    for f in "$work/logs"/*; do echo "--- $f"; cat "$f"; done
    status=1
fi
if [ "$status" -eq 0 ]; then
    echo "== sanitize.sh: clean (no ASan/UBSan report, suite passed)"
else
    echo "== sanitize.sh: FAILED (status $status, $reports report file(s))"
fi
exit "$status"
