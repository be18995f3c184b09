"""Loss functions: a batch of predictions (Values) and targets (numbers) in,
one Value out, the mean over the batch.

Labels for the classification losses follow the datasets' convention, 0/1;
hinge also accepts -1/+1 (any label <= 0 is the negative class).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Union

from ..value import Value

Predictions = Union[Sequence[Value], Value]
Targets = Union[Sequence[float], float]


def _pairs(preds: Predictions, targets: Targets) -> list[tuple[Value, float]]:
    p = [preds] if isinstance(preds, Value) else list(preds)
    t = [targets] if isinstance(targets, (int, float)) else list(targets)
    if len(p) != len(t):
        raise ValueError(f"{len(p)} predictions but {len(t)} targets")
    if not p:
        raise ValueError("a loss needs at least one prediction")
    return list(zip(p, (float(y) for y in t)))


def _mean(terms: list[Value]) -> Value:
    # summed left to right from the first term (sum()'s 0 start would add a node)
    return sum(terms[1:], terms[0]) / len(terms)


def mse(preds: Predictions, targets: Targets) -> Value:
    """Mean squared error: mean((p - t)**2)."""
    pairs = _pairs(preds, targets)
    errors = [p - t for p, t in pairs]
    return _mean([e * e for e in errors])


def hinge(scores: Predictions, labels: Targets) -> Value:
    """SVM max-margin loss: mean(max(0, 1 - y * score)) with y = +-1.

    A score on the right side of the boundary by a margin of 1 or more costs
    nothing; inside the margin the cost grows linearly."""
    pairs = _pairs(scores, labels)
    return _mean([(1.0 - (1.0 if y > 0 else -1.0) * s).relu() for s, y in pairs])


def softplus(z: Value) -> Value:
    """log(1 + e**z), in the form that cannot overflow for z's sign:
    z + log(1 + e**-z) for z > 0, log(1 + e**z) otherwise.  Both forms are
    smooth, so the gradient, sigmoid(z), is right on either side and at 0."""
    if z.data > 0.0:
        return z + (1.0 + (-z).exp()).log()
    return (1.0 + z.exp()).log()


def binary_cross_entropy_with_logits(logits: Predictions, labels: Targets) -> Value:
    """mean(-y log sigmoid(z) - (1 - y) log(1 - sigmoid(z))) for logits z and
    labels y in [0, 1], computed as softplus(z) - y z: finite for any finite z
    (a logit of 1000 gives a loss of 1000 and a gradient of 1 - y, not nan)."""
    pairs = _pairs(logits, labels)
    return _mean([softplus(z) - y * z for z, y in pairs])


def l2(params: Iterable[Value], alpha: float = 1e-4) -> Value:
    """L2 regularisation: alpha * sum(p**2), to add to a loss."""
    squares = [p * p for p in params]
    if not squares:
        raise ValueError("l2 needs at least one parameter")
    return alpha * sum(squares[1:], squares[0])
