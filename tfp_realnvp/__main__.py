"""The `tfp-realnvp` console script and `python -m tfp_realnvp`: a quiet start, then `tfp_realnvp.cli`.

TensorFlow prints C++ start-up lines when it is imported and when it first
looks for devices; on a machine without a GPU one of them reads
"E0000 ... failed call to cuInit: INTERNAL: CUDA error", which looks like a
failure but is not. Unless the user set TF_CPP_MIN_LOG_LEVEL, the command
line sets it to 3 (TensorFlow's errors and below hidden) and holds back what
the libraries write to the standard error while they are imported (lines
that TensorFlow prints before its log level takes effect); the held-back
text is shown if the import fails. `--verbose 3` shows everything again.
"""

import importlib
import os
import sys
import tempfile

#: The `--verbose` level that shows TensorFlow's C++ log (`runs.MAX_VERBOSE`;
#: not imported from there, which would start TensorFlow).
SHOW_TENSORFLOW_LOG = 3
#: TF_CPP_MIN_LOG_LEVEL of a quiet start: INFO, WARNING and ERROR hidden.
QUIET_LOG_LEVEL = "3"


def wants_tensorflow_log(argv):
  """Whether the arguments ask for TensorFlow's C++ log (`--verbose 3` or more).

  Args:
    argv: the command-line arguments after the program name.

  Returns:
    bool.
  """
  for index, argument in enumerate(argv):
    value = None
    if argument.startswith("--verbose="):
      value = argument.split("=", 1)[1]
    elif argument == "--verbose" and index + 1 < len(argv):
      value = argv[index + 1]
    if value is not None and value.isdigit() and int(
        value) >= SHOW_TENSORFLOW_LOG:
      return True
  return False


def _import_quietly(module_name):
  """Imports `module_name` with the process's standard error held back; shows it if the import fails."""
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as held_back:
    os.dup2(held_back.fileno(), 2)
    try:
      importlib.import_module(module_name)
    except BaseException:
      os.dup2(saved, 2)
      held_back.seek(0)
      sys.stderr.write(held_back.read().decode(errors="replace"))
      raise
    finally:
      os.dup2(saved, 2)
      os.close(saved)


def main(argv=None):
  """Runs `tfp_realnvp.cli.main` after a quiet TensorFlow start (see the module docstring).

  Args:
    argv: the arguments after the program name; None for `sys.argv[1:]`.

  Returns:
    int: the exit status of `tfp_realnvp.cli.main`.
  """
  argv = sys.argv[1:] if argv is None else list(argv)
  if "TF_CPP_MIN_LOG_LEVEL" not in os.environ and not wants_tensorflow_log(
      argv):
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = QUIET_LOG_LEVEL
    _import_quietly("tfp_realnvp.cli")
  from tfp_realnvp import cli  # pylint: disable=import-outside-toplevel
  return cli.main(argv)


if __name__ == "__main__":
  sys.exit(main())
