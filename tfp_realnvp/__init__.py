"""tfp_realnvp: Real NVP normalizing flows as TFP bijectors and a Keras 3 model.

The names below, and the submodules (`tfp_realnvp.data`, ...), are imported
on first use, so that `import tfp_realnvp` (and the command line, which
lowers TensorFlow's log level first) does not start TensorFlow before it is
needed.
"""

import importlib
import pkgutil

from tfp_realnvp.version import __version__

_LAZY = {
    "ModelConfig": "tfp_realnvp.config",
    "RealNVP": "tfp_realnvp.model",
    "TrainedModel": "tfp_realnvp.loading",
    "export_saved_model": "tfp_realnvp.export",
    "load": "tfp_realnvp.loading",
    "bijectors": None,
    "layers": None,
}

__all__ = sorted(_LAZY) + ["__version__"]


_SUBMODULES = tuple(module.name for module in pkgutil.iter_modules(__path__))


def __getattr__(name):
  if name in _LAZY and _LAZY[name] is not None:
    return getattr(importlib.import_module(_LAZY[name]), name)
  if name in _SUBMODULES:
    return importlib.import_module(f"tfp_realnvp.{name}")
  raise AttributeError(f"module 'tfp_realnvp' has no attribute {name!r}")


def __dir__():
  return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
