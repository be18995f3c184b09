/* rules.h: the math of every op, forward and backward (rules.c). */
#ifndef AUTOGRAD_RULES_H
#define AUTOGRAD_RULES_H

#include "autograd.h"

extern const signed char ag_arity[AG_OP_COUNT];

/* Number of node inputs the op takes: 0, 1 or 2; -1 for an unknown op. */
static inline int ag_op_arity(int op)
{
    return (unsigned)op < AG_OP_COUNT ? ag_arity[op] : -1;
}

/* The op's value for inputs x, y (0 when absent) and constant c. */
double ag_forward(int op, double x, double y, double c);

/* The adjoints the op sends to its inputs, given its output `out` and the
 * incoming adjoint g.  *db is left untouched for ops with fewer inputs. */
void ag_local_grads(int op, double x, double y, double c, double out, double g,
                    double *da, double *db);

#endif
