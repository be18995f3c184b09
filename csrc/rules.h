/* rules.h: the math of every op, one row each: its value and what its
 * inputs receive, side by side.
 *
 * In a row, x and y are the values of inputs a and b (y is 0 for a one-input
 * op), c is the node's constant, out its value and g its adjoint (incoming
 * gradient).  The row's second and third columns are the adjoints it sends
 * to a and b.  The op names are autograd/ops.py's table (ag_ops.h, generated
 * from it at build time); autograd/engine/python/rules.py is the twin of this
 * file, one block per op with the same formulas in the same order of
 * operations, so that both backends round identically.  Every expression is
 * spelled out (no a*b+c that a compiler might fuse; the build also passes
 * -ffp-contract=off).
 *
 * Gradient conventions follow PyTorch: relu'(0) = 0, abs'(0) = 0,
 * sqrt'(0) = inf, d(x**y)/dy = 0 where x == 0 and y >= 0, d(x**y)/dx = 0
 * where y == 0.  A rule is applied even where g is 0, so 0 * inf gives nan,
 * as in PyTorch.
 *
 * A user primitive f(x1, ..., xn) is a chain of PRIMITIVE nodes: the first
 * takes a constant leaf holding f's value as b, each takes one input x_i as a
 * and the previous node as b, with c = df/dx_i.  The value passes down the
 * chain unchanged and each x_i receives g * df/dx_i.
 */
#ifndef AUTOGRAD_RULES_H
#define AUTOGRAD_RULES_H

#include <math.h>

#include "ag_ops.h"
#include "autograd.h"

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

/*   op          value                   a receives                        b receives */
#define AG_RULES(RULE) \
    RULE(ADD,       x + y,                  g,                                g) \
    RULE(SUB,       x - y,                  g,                                -g) \
    RULE(MUL,       x * y,                  g * y,                            g * x) \
    RULE(DIV,       x / y,                  g / y,                            -g * (out / y)) \
    RULE(POW,       pow(x, y),              pow_grad_base(x, y, g),           pow_grad_exponent(x, y, out, g)) \
    RULE(ADDC,      x + c,                  g,                                0.0) \
    RULE(SUBC,      x - c,                  g,                                0.0) \
    RULE(RSUBC,     c - x,                  -g,                               0.0) \
    RULE(MULC,      x * c,                  g * c,                            0.0) \
    RULE(DIVC,      x / c,                  g / c,                            0.0) \
    RULE(RDIVC,     c / x,                  -g * (out / x),                   0.0) /* -c/x**2 */ \
    RULE(POWC,      pow(x, c),              pow_grad_base(x, c, g),           0.0) \
    RULE(RPOWC,     pow(c, x),              pow_grad_exponent(c, x, out, g),  0.0) \
    RULE(NEG,       -x,                     -g,                               0.0) \
    RULE(EXP,       exp(x),                 g * out,                          0.0) \
    RULE(LOG,       log(x),                 g / x,                            0.0) \
    RULE(SIN,       sin(x),                 g * cos(x),                       0.0) \
    RULE(COS,       cos(x),                 g * -sin(x),                      0.0) \
    RULE(TANH,      tanh(x),                g * (1.0 - out * out),            0.0) \
    RULE(RELU,      x <= 0.0 ? 0.0 : x,     out <= 0.0 ? 0.0 : g,             0.0) /* keeps nan */ \
    RULE(SIGMOID,   1.0 / (1.0 + exp(-x)),  g * (out * (1.0 - out)),          0.0) \
    RULE(SQRT,      sqrt(x),                g / (2.0 * out),                  0.0) \
    RULE(ABS,       fabs(x),                g * sign(x),                      0.0) \
    RULE(PRIMITIVE, y,                      g * c,                            g) \
    RULE(SOFTPLUS,  (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x))),  g * (1.0 / (1.0 + exp(-x))),  0.0)

/* ag_forward: into *out, the value of op for input values x, y (0 when
 * absent) and constant c.  AG_EBADOP for a code with no rule (a leaf has
 * none: its value is given, not computed). */
static inline int ag_forward(int op, double x, double y, double c, double *out)
{
    (void)y;
    (void)c;
    switch (op) {
#define AG_FORWARD_CASE(name, value, da, db) case AG_OP_##name: *out = (value); return AG_OK;
    AG_RULES(AG_FORWARD_CASE)
#undef AG_FORWARD_CASE
    default: return AG_EBADOP;
    }
}

/* ag_local_grads: into *da and *db, the adjoints op sends to its inputs,
 * given their values x, y, the constant c, the op's value out and its
 * adjoint g (*db is 0 for a one-input op).  AG_EBADOP for a code with no
 * rule. */
static inline int ag_local_grads(int op, double x, double y, double c, double out, double g,
                                 double *da, double *db)
{
    (void)out;
    switch (op) {
#define AG_BACKWARD_CASE(name, value, grad_a, grad_b) \
    case AG_OP_##name: *da = (grad_a); *db = (grad_b); return AG_OK;
    AG_RULES(AG_BACKWARD_CASE)
#undef AG_BACKWARD_CASE
    default: return AG_EBADOP;
    }
}

/* Number of node inputs of op: 0, 1 or 2; -1 for a code that is not an op. */
static inline int ag_arity(int op)
{
    return (unsigned)op < AG_OP_COUNT ? ag_op_arity_table[op] : -1;
}

#endif
