"""nn, losses, optimizers, datasets and state_dict, on both backends."""

from __future__ import annotations

import json
import math

import pytest

import autograd as ag
from autograd import datasets, losses, nn, optim


def test_mlp_shapes_and_parameter_count(backend):
    model = nn.MLP(2, [16, 16, 1], seed=0)
    # (2*16 + 16) + (16*16 + 16) + (16*1 + 1)
    assert len(model.parameters()) == 337
    hidden = model.layers[0]([0.5, -0.25])
    assert isinstance(hidden, list) and len(hidden) == 16
    out = model([0.5, -0.25])
    assert isinstance(out, ag.Value)
    assert isinstance(nn.MLP(3, [4, 2], seed=0)([1.0, 2.0, 3.0]), list)
    assert [n.nonlin for n in model.layers[0].neurons] == ["relu"] * 16
    assert model.layers[-1].neurons[0].nonlin == "linear"


def test_one_neuron_layer_feeds_the_next(backend):
    # a one-neuron layer returns a Value, and the next layer must take it
    model = nn.MLP(2, [1, 3, 1], seed=3, nonlin="tanh")
    mid = model.layers[0]([0.3, 0.7])
    assert isinstance(mid, ag.Value)
    assert len(model.layers[1](mid)) == 3
    out = model([0.3, 0.7])
    out.backward()
    first = model.layers[0].neurons[0]
    assert all(w.grad != 0.0 for w in first.w)  # gradient flowed through the single neuron
    assert first.w[0].grad == pytest.approx(0.3 * first.b.grad)


def test_neuron_checks_its_input_count(backend):
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        nn.Neuron(2, rng=None)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="nonlin"):
        nn.MLP(2, [1], nonlin="swish")
    with pytest.raises(ValueError, match="at least one layer"):
        nn.MLP(2, [])


@pytest.mark.parametrize("nonlin", ["relu", "tanh", "sigmoid"])
def test_nonlinearity_and_predict_agree_with_the_graph(backend, nonlin):
    model = nn.MLP(2, [5, 4, 1], seed=11, nonlin=nonlin)
    assert model.layers[0].neurons[0].nonlin == nonlin
    for x in ([0.1, 0.2], [-1.5, 2.0], [3.0, -0.7]):
        assert model.predict(x) == model(x).data  # bit for bit


def test_seed_makes_initialisation_reproducible(backend):
    a = nn.MLP(2, [4, 1], seed=5).state_dict()
    assert a == nn.MLP(2, [4, 1], seed=5).state_dict()
    assert a != nn.MLP(2, [4, 1], seed=6).state_dict()
    assert all(-1.0 <= v <= 1.0 for v in a.values())


def test_zero_grad(backend):
    model = nn.MLP(2, [3, 1], seed=1)
    model([1.0, -1.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_state_dict_round_trip_gives_identical_predictions(backend, tmp_path):
    X, y = datasets.make_moons(20, seed=0)
    model = nn.MLP(2, [6, 6, 1], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):  # move away from the initial weights
        opt.zero_grad()
        losses.hinge([model(x) for x in X], y).backward()
        opt.step()
    path = tmp_path / "model.json"
    model.save(path)
    doc = json.loads(path.read_text())
    assert doc["state"] == model.state_dict()

    other = nn.MLP(2, [6, 6, 1], seed=99)
    other.load(path)
    assert other.state_dict() == model.state_dict()
    assert [other(x).data for x in X] == [model(x).data for x in X]

    fresh = nn.MLP(2, [6, 6, 1], seed=42)
    fresh.load_state_dict(model.state_dict())
    assert [fresh.predict(x) for x in X] == [model.predict(x) for x in X]


def test_load_state_dict_refuses_another_architecture(backend):
    with pytest.raises(KeyError, match="does not fit"):
        nn.MLP(2, [3, 1]).load_state_dict(nn.MLP(2, [4, 1]).state_dict())


# --- losses ---------------------------------------------------------------

def test_mse_and_hinge_values(backend):
    p = [ag.Value(1.0), ag.Value(-2.0)]
    assert losses.mse(p, [0.0, 0.0]).data == 2.5
    # margins: 1 - 1*1 = 0 and 1 - (-1)(-2)... label 0 means -1
    s = [ag.Value(2.0), ag.Value(0.5), ag.Value(-0.25)]
    assert losses.hinge(s, [1, 0, 0]).data == pytest.approx((0.0 + 1.5 + 0.75) / 3)
    assert losses.hinge(s, [1, -1, -1]).data == losses.hinge(s, [1, 0, 0]).data
    with pytest.raises(ValueError, match="2 predictions but 3 targets"):
        losses.mse(p, [0, 0, 0])


@pytest.mark.parametrize("z", [-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0])
@pytest.mark.parametrize("label", [0, 1])
def test_bce_with_logits_is_finite_and_exact(backend, z, label):
    v = ag.Value(z)
    loss = losses.binary_cross_entropy_with_logits(v, label)
    loss.backward()
    assert math.isfinite(loss.data) and math.isfinite(v.grad)
    # references in the textbook's stable forms
    sig = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
    expected = max(z, 0.0) + math.log1p(math.exp(-abs(z))) - label * z
    assert loss.data == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert v.grad == pytest.approx(sig - label, rel=1e-12, abs=1e-12)  # d/dz = sigmoid(z) - y


def test_losses_pass_gradcheck(backend):
    fs = [
        lambda a, b: losses.mse([a, b], [0.5, -1.0]),
        lambda a, b: losses.hinge([a, b], [1, 0]),
        lambda a, b: losses.binary_cross_entropy_with_logits([a, b], [1, 0]),
        lambda a, b: losses.l2([a, b], alpha=0.3),
    ]
    for f in fs:
        report = ag.gradcheck(f, [0.3, -0.4])  # away from the hinge's kink
        assert report, str(report)


# --- optimizers -----------------------------------------------------------

def _bowl(x: ag.Value, y: ag.Value) -> ag.Value:
    # convex, minimum 0 at (1, -0.5)
    return (x - 1.0) * (x - 1.0) + 3.0 * (y + 0.5) * (y + 0.5)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.05),
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
    lambda ps: optim.Adam(ps, lr=0.1),
    lambda ps: optim.SGD(ps, lr=optim.linear_decay(0.1, 0.01, 100)),
])
def test_optimizers_decrease_a_convex_loss(backend, make):
    x, y = ag.Value(4.0), ag.Value(2.0)
    opt = make([x, y])
    history = []
    for _ in range(100):
        opt.zero_grad()
        loss = _bowl(x, y)
        loss.backward()
        opt.step()
        history.append(loss.data)
    assert history[-1] < 1e-3 * history[0]
    assert x.data == pytest.approx(1.0, abs=0.05) and y.data == pytest.approx(-0.5, abs=0.05)


def test_schedule_hook_sees_the_step_number(backend):
    seen = []
    p = ag.Value(1.0)
    opt = optim.SGD([p], lr=lambda k: seen.append(k) or 0.5 ** k)
    for _ in range(3):
        p.grad = 1.0
        opt.step()
    assert seen == [0, 1, 2]
    assert p.data == 1.0 - 1.0 - 0.5 - 0.25
    assert optim.linear_decay(1.0, 0.1, 100)(50) == 1.0 - 0.9 * 50 / 100


def test_optimizer_argument_checks(backend):
    with pytest.raises(ValueError):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError):
        optim.SGD([ag.Value(1.0)], lr=-1.0)
    with pytest.raises(ValueError):
        optim.SGD([ag.Value(1.0)], momentum=1.5)


# --- datasets -------------------------------------------------------------

@pytest.mark.parametrize("make", [datasets.make_moons, datasets.make_circles])
def test_datasets_shape_and_seed(make):
    X, y = make(n_samples=51, seed=3)
    assert len(X) == len(y) == 51
    assert all(isinstance(p, list) and len(p) == 2 and all(type(c) is float for c in p) for p in X)
    assert all(type(label) is int for label in y) and sorted(set(y)) == [0, 1]
    assert y.count(0) == 25 and y.count(1) == 26   # n // 2 in class 0, as scikit-learn
    assert make(n_samples=51, seed=3) == (X, y)
    assert make(n_samples=51, seed=4) != (X, y)
    with pytest.raises(ValueError):
        make(n_samples=1)


def test_noiseless_moons_and_circles_lie_on_their_curves():
    X, y = datasets.make_moons(40, noise=0.0, seed=0)
    for (a, b), label in zip(X, y):
        if label == 0:  # upper moon: the unit half circle
            assert math.hypot(a, b) == pytest.approx(1.0) and b >= -1e-12
        else:           # lower moon: centred at (1, 0.5)
            assert math.hypot(a - 1.0, b - 0.5) == pytest.approx(1.0) and b <= 0.5 + 1e-12
    X, y = datasets.make_circles(40, noise=0.0, factor=0.3, seed=0)
    for (a, b), label in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if label == 0 else 0.3)


# --- training -------------------------------------------------------------

def test_training_on_moons_reaches_100_percent(backend):
    # small enough for the Python backend: 40 points, MLP(2, [8, 8, 1]), Adam
    X, y = datasets.make_moons(40, noise=0.1, seed=1)
    model = nn.MLP(2, [8, 8, 1], seed=1)
    params = model.parameters()
    opt = optim.Adam(params, lr=0.1)
    for _ in range(40):
        loss = losses.binary_cross_entropy_with_logits([model(x) for x in X], y) + losses.l2(params)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all((model.predict(x) > 0) == (label == 1) for x, label in zip(X, y))


def test_demo_training_is_bitwise_identical_on_both_backends(both_backends):
    # the full demo runs in test_demo.py on C; here its first steps on both backends
    from autograd.cli.demo import LAYERS, SEED, train

    runs = {}
    for name in both_backends:
        ag.set_backend(name)
        X, y = datasets.make_moons(30, seed=SEED)
        model = nn.MLP(2, LAYERS, seed=SEED)
        history = train(model, X, y, 3)
        runs[name] = ([(r.loss, r.accuracy, r.lr) for r in history], model.state_dict())
    assert runs["c"] == runs["python"]


def test_global_seed_makes_initialisation_reproducible(backend):
    # micrograd's notebook seeds the random module; seed=None draws from it
    import random

    random.seed(1337)
    a = nn.MLP(2, [16, 16, 1]).state_dict()
    layer_a = [w.data for w in nn.Layer(2, 2).neurons[0].w]
    random.seed(1337)
    assert nn.MLP(2, [16, 16, 1]).state_dict() == a
    assert [w.data for w in nn.Layer(2, 2).neurons[0].w] == layer_a
    # micrograd's draw order: random.uniform(-1, 1) per weight, neuron by neuron
    random.seed(1337)
    first = [random.uniform(-1.0, 1.0) for _ in range(2)]
    assert [a["layers.0.neurons.0.w.0"], a["layers.0.neurons.0.w.1"]] == first
    # an explicit seed leaves the global state alone
    random.seed(7)
    expected = random.random()
    random.seed(7)
    nn.MLP(2, [4, 1], seed=3)
    assert random.random() == expected
