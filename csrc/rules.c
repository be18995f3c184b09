/* rules.c: the number of inputs of each op.  The rules themselves, each op's
 * forward value and backward rule, are inline functions in rules.h: the
 * sweeps call them once per node.
 */
#include "autograd.h"
#include "rules.h"

/* Number of node inputs of each op; rules.h reads it through ag_op_arity,
 * inlined, since the sweep asks once per node. */
const signed char ag_arity[AG_OP_COUNT] = {
    [AG_OP_LEAF] = 0,
    [AG_OP_ADD] = 2, [AG_OP_SUB] = 2, [AG_OP_MUL] = 2, [AG_OP_DIV] = 2, [AG_OP_POW] = 2,
    [AG_OP_PRIMITIVE] = 2,
    [AG_OP_ADDC] = 1, [AG_OP_SUBC] = 1, [AG_OP_RSUBC] = 1, [AG_OP_MULC] = 1,
    [AG_OP_DIVC] = 1, [AG_OP_RDIVC] = 1, [AG_OP_POWC] = 1, [AG_OP_RPOWC] = 1,
    [AG_OP_NEG] = 1, [AG_OP_EXP] = 1, [AG_OP_LOG] = 1, [AG_OP_SIN] = 1, [AG_OP_COS] = 1,
    [AG_OP_TANH] = 1, [AG_OP_RELU] = 1, [AG_OP_SIGMOID] = 1, [AG_OP_SQRT] = 1, [AG_OP_ABS] = 1,
};

