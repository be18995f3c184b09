/* testing.h: hooks for the engine's own tests, not part of its interface.
 *
 * The build feeds this header to cffi's cdef with autograd.h, so the tests
 * reach it as lib.ag_fail_after; users never need it.
 */
#ifndef AUTOGRAD_TESTING_H
#define AUTOGRAD_TESTING_H

#include <stdint.h>

/* Make the allocation after the next n fail once (n >= 0); a negative n
 * turns the hook off.  An "allocation" is one call of ag_alloc/ag_realloc:
 * one per array an arena growth resizes (eight), one per sweep's scratch
 * block (reused or not), two per tape, one per ag_check.  The Python engine
 * counts the same events. */
void ag_fail_after(int64_t n);

#endif
