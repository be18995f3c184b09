"""The learner's tools: the graph read back out of the engine, pictures of it,
``explain`` (a readable trace of the backward pass) and the demo's plots.

    graphwalk.py  the nodes below a Value, labelled, in the sweep's order
    pictures.py   to_dot, draw, graph (Graphviz)
    explain.py    explain(y): every chain-rule step of the backward pass
    plot.py       the decision boundary and training curves (matplotlib)

It builds on the public Value API, the op table and the engines' sweep; the
core never imports it.
"""
