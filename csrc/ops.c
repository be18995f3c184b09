/* ops.c: the op table as compiled in, for the check at import
 * (autograd/engine/c.py compares it with autograd/ops.py). */
#include "autograd.h"
#include "rules.h"

int ag_op_count(void) { return AG_OP_COUNT; }

/* ag_op_arity: node inputs of op, -1 for a code that is not an op. */
int ag_op_arity(int op) { return ag_arity(op); }

/* ag_op_name: the op's name in autograd/ops.py, NULL for a code that is not an op. */
const char *ag_op_name(int op)
{
    return (unsigned)op < AG_OP_COUNT ? ag_op_name_table[op] : NULL;
}

/* ag_op_has_rule: 1 if rules.h has a row for op (a leaf needs none), else 0. */
int ag_op_has_rule(int op)
{
    double out;
    if (op == AG_OP_LEAF) return 1;
    return ag_arity(op) > 0 && ag_forward(op, 1.0, 1.0, 1.0, &out) == AG_OK;
}
