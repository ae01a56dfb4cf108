"""The package's version, as installed (setup.py declares it)."""

import importlib.metadata


def _installed_version():
  try:
    return importlib.metadata.version("tfp_realnvp")
  except importlib.metadata.PackageNotFoundError:  # Run from a source tree.
    return "unknown"


#: The installed version of tfp_realnvp (setup.py's `version`), or "unknown"
#: when the package is imported from a source tree without installing it.
__version__ = _installed_version()
