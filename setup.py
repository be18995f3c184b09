"""The C engine is built by cffi's setuptools integration (cffi_modules).

Metadata lives in pyproject.toml.  A missing compiler does not fail the
install unless AUTOGRAD_STRICT_BUILD=1; autograd then warns on import that
it is using the pure-Python engine.
"""

from setuptools import setup

setup(cffi_modules=["autograd/_build.py:ffibuilder"])
