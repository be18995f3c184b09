"""cffi build script for the C engine (out-of-line API mode).

setup.py names it in ``cffi_modules``; it compiles csrc/*.c into
``autograd._engine``.  First it writes ag_ops.h, the C form of the op table
(autograd/ops.py), into build/generated/: the C enum and arity table are never
written by hand.  -ffp-contract=off keeps the compiler from fusing a*b+c
into one rounding (that would break bitwise parity with the Python engine);
-ffast-math is never used (it would also flush subnormals process-wide).

Environment:
  AUTOGRAD_STRICT_BUILD=1   a failed compile fails the install (default: the
                            install goes on without the C engine, and import
                            warns that the Python engine is in use)
  AUTOGRAD_EXTRA_CFLAGS     more compiler and linker flags (the sanitizer build)
"""

from __future__ import annotations

import importlib.util
import os
import shlex
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["csrc/arena.c", "csrc/ops.c", "csrc/stale.c", "csrc/sweep.c", "csrc/tape.c"]
HEADERS = ["csrc/autograd.h", "csrc/testing.h", "csrc/arena.h", "csrc/rules.h", "csrc/sweep.h",
           "csrc/tile.h"]
GENERATED = ROOT / "build" / "generated"
CFLAGS = ["-O2", "-ffp-contract=off", "-fno-fast-math", "-std=c11", "-pthread"]


def _cdef_text() -> str:
    """csrc/autograd.h and the test hooks of csrc/testing.h without their
    preprocessor lines, which cdef cannot parse."""
    text = (ROOT / "csrc" / "autograd.h").read_text() + (ROOT / "csrc" / "testing.h").read_text()
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _write_op_header() -> None:
    """build/generated/ag_ops.h from the op table.  ops.py is loaded on its
    own: the package cannot be imported before its engine is built."""
    spec = importlib.util.spec_from_file_location("_autograd_op_table", ROOT / "autograd" / "ops.py")
    assert spec is not None and spec.loader is not None
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    GENERATED.mkdir(parents=True, exist_ok=True)
    header = GENERATED / "ag_ops.h"
    text = table.c_header()
    if not header.exists() or header.read_text() != text:   # keep its time: no needless rebuild
        header.write_text(text)


extra = shlex.split(os.environ.get("AUTOGRAD_EXTRA_CFLAGS", ""))
strict = os.environ.get("AUTOGRAD_STRICT_BUILD", "") not in ("", "0")

_write_op_header()
ffibuilder = FFI()
ffibuilder.cdef(_cdef_text())
ffibuilder.set_source(
    "autograd._engine",
    '#include "autograd.h"\n#include "testing.h"',
    sources=SOURCES,
    include_dirs=["csrc", str(GENERATED)],
    depends=HEADERS + ["autograd/ops.py"],
    extra_compile_args=CFLAGS + extra,
    extra_link_args=["-pthread"] + extra,
    libraries=["m"],
    optional=not strict,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
