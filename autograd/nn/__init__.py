"""The neural-network kit: micrograd's modules, losses, optimizers and data sets.

``autograd.nn`` exposes the modules (``nn.MLP``, ``nn.Layer``, ``nn.Neuron``,
``nn.Module``); ``nn.losses``, ``nn.optim`` and ``nn.datasets`` hold the rest
(also reachable as ``autograd.losses``, ``autograd.optim``, ``autograd.datasets``).
It builds on the public ``Value`` API only.
"""

from . import datasets, losses, optim
from .modules import MLP, Layer, Module, Neuron

__all__ = ["MLP", "Layer", "Module", "Neuron", "datasets", "losses", "optim"]
