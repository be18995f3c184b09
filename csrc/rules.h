/* rules.h: the math of every op, forward and backward, side by side.
 *
 * Inline, because the sweeps (backward.c, replay.c) call them once per node;
 * rules.c holds the arity table.
 *
 * autograd/engine_py/rules.py is the twin of this file: the same formulas,
 * written in the same order, so that both backends round identically.  Every
 * expression is spelled out (no a*b+c that a compiler might fuse; the build
 * also passes -ffp-contract=off).  Gradient conventions follow PyTorch:
 * relu'(0) = 0, abs'(0) = 0, sqrt'(0) = inf, d(x**y)/dy = 0 where x == 0 and
 * y >= 0, d(x**y)/dx = 0 where y == 0.  A rule is applied even where the
 * incoming adjoint is 0, so 0 * inf gives nan, as in PyTorch.
 *
 * A user primitive f(x1, ..., xn) is a chain of PRIMITIVE nodes: the first
 * takes a constant leaf holding f's value as b, each takes one input x_i as a
 * and the previous node as b, with c = df/dx_i.  The value passes down the
 * chain unchanged and each x_i receives g * df/dx_i.
 */
#ifndef AUTOGRAD_RULES_H
#define AUTOGRAD_RULES_H

#include <math.h>

#include "autograd.h"

extern const signed char ag_arity[AG_OP_COUNT];

/* Number of node inputs the op takes: 0, 1 or 2; -1 for an unknown op. */
static inline int ag_op_arity(int op)
{
    return (unsigned)op < AG_OP_COUNT ? ag_arity[op] : -1;
}

/* d(x**y)/dx times g; 0 where y == 0, whatever g is. */
static inline double pow_grad_base(double x, double y, double g)
{
    return y == 0.0 ? 0.0 : g * (y * pow(x, y - 1.0));
}

/* d(x**y)/dy times g, where out == x**y; 0 where x == 0 and y >= 0. */
static inline double pow_grad_exponent(double x, double y, double out, double g)
{
    return (x == 0.0 && y >= 0.0) ? 0.0 : g * (out * log(x));
}

/* sign(x) with sign(0) = 0 and sign(nan) = nan. */
static inline double sign(double x)
{
    if (x > 0.0) return 1.0;
    if (x < 0.0) return -1.0;
    return x == 0.0 ? 0.0 : x;
}

/* ag_forward: the op's value for inputs x, y (0 when absent) and constant c. */
static inline double ag_forward(int op, double x, double y, double c)
{
    switch (op) {
    case AG_OP_ADD:     return x + y;
    case AG_OP_SUB:     return x - y;
    case AG_OP_MUL:     return x * y;
    case AG_OP_DIV:     return x / y;
    case AG_OP_POW:     return pow(x, y);
    case AG_OP_ADDC:    return x + c;
    case AG_OP_SUBC:    return x - c;
    case AG_OP_RSUBC:   return c - x;
    case AG_OP_MULC:    return x * c;
    case AG_OP_DIVC:    return x / c;
    case AG_OP_RDIVC:   return c / x;
    case AG_OP_POWC:    return pow(x, c);
    case AG_OP_RPOWC:   return pow(c, x);
    case AG_OP_NEG:     return -x;
    case AG_OP_EXP:     return exp(x);
    case AG_OP_LOG:     return log(x);
    case AG_OP_SIN:     return sin(x);
    case AG_OP_COS:     return cos(x);
    case AG_OP_TANH:    return tanh(x);
    case AG_OP_RELU:    return x <= 0.0 ? 0.0 : x;              /* keeps nan */
    case AG_OP_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case AG_OP_SQRT:    return sqrt(x);
    case AG_OP_ABS:     return fabs(x);
    case AG_OP_PRIMITIVE: return y;                             /* carries f(...) down the chain */
    default:            return x;                               /* a leaf */
    }
}

/* ag_local_grads: the adjoints the op sends to its inputs, given its output
 * `out` and the incoming adjoint g.  *db is left untouched for ops with fewer
 * inputs. */
static inline void ag_local_grads(int op, double x, double y, double c, double out, double g,
                    double *da, double *db)
{
    switch (op) {
    case AG_OP_ADD:     *da = g;                          *db = g; break;
    case AG_OP_SUB:     *da = g;                          *db = -g; break;
    case AG_OP_MUL:     *da = g * y;                      *db = g * x; break;
    case AG_OP_DIV:     *da = g / y;                      *db = -g * (out / y); break;
    case AG_OP_POW:     *da = pow_grad_base(x, y, g);     *db = pow_grad_exponent(x, y, out, g); break;
    case AG_OP_ADDC:    *da = g; break;
    case AG_OP_SUBC:    *da = g; break;
    case AG_OP_RSUBC:   *da = -g; break;
    case AG_OP_MULC:    *da = g * c; break;
    case AG_OP_DIVC:    *da = g / c; break;
    case AG_OP_RDIVC:   *da = -g * (out / x); break;        /* d(c/x) = -c/x**2 */
    case AG_OP_POWC:    *da = pow_grad_base(x, c, g); break;
    case AG_OP_RPOWC:   *da = pow_grad_exponent(c, x, out, g); break;
    case AG_OP_NEG:     *da = -g; break;
    case AG_OP_EXP:     *da = g * out; break;
    case AG_OP_LOG:     *da = g / x; break;
    case AG_OP_SIN:     *da = g * cos(x); break;
    case AG_OP_COS:     *da = g * -sin(x); break;
    case AG_OP_TANH:    *da = g * (1.0 - out * out); break;
    case AG_OP_RELU:    *da = out <= 0.0 ? 0.0 : g; break;
    case AG_OP_SIGMOID: *da = g * (out * (1.0 - out)); break;
    case AG_OP_SQRT:    *da = g / (2.0 * out); break;
    case AG_OP_ABS:     *da = g * sign(x); break;
    case AG_OP_PRIMITIVE: *da = g * c;                    *db = g; break;
    default:            break;                              /* a leaf */
    }
}

#endif
