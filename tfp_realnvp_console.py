"""The `tfp-realnvp` console script: a quiet TensorFlow start, then `tfp_realnvp.cli`.

A module of its own, outside the package: importing `tfp_realnvp` imports
TensorFlow (it registers `RealNVP` with Keras, so that `.keras` files load
after `import tfp_realnvp`), and the log level must be set before that.

TensorFlow prints C++ log lines when it is imported and when it first looks
for devices; on a machine without a GPU one of them reads
"E0000 ... failed call to cuInit: INTERNAL: CUDA error", which looks like a
failure but is not. Unless the user set TF_CPP_MIN_LOG_LEVEL, this sets it to
3 for the run (TensorFlow's C++ INFO, WARNING and ERROR lines hidden) and
holds back what the libraries write to the standard error while they are
imported, dropping the C++ start-up lines that come before the log level
takes effect and passing the rest (Python warnings) on; all of it is shown
if the import fails. `--verbose 3` shows everything.
"""

import importlib
import os
import re
import sys
import tempfile

#: The `--verbose` level that shows TensorFlow's C++ log
#: (`tfp_realnvp.runs.MAX_VERBOSE`, which cannot be imported before
#: TensorFlow starts; tests/test_console.py checks the two agree).
SHOW_TENSORFLOW_LOG = 3
#: TF_CPP_MIN_LOG_LEVEL of a quiet start (INFO, WARNING and ERROR hidden).
QUIET_LOG_LEVEL = "3"
#: Start-up lines of TensorFlow's C++ code (absl log lines such as
#: "I0000 00:00:17... port.cc:153] ...", absl's notice before its
#: initialization, the CPU feature notice and its second line).
STARTUP_LINE = re.compile(
    r"^([IWEF]\d{4} |WARNING: All log messages before absl::InitializeLog"
    r"|To enable the following instructions:)")


def wants_tensorflow_log(argv):
  """Whether the arguments ask for TensorFlow's C++ log (`--verbose 3` or more).

  Args:
    argv: the command-line arguments after the program name.

  Returns:
    bool.
  """
  for index, argument in enumerate(argv):
    value = None
    if argument.startswith("--verb") and "=" in argument:
      value = argument.split("=", 1)[1]
    elif argument.startswith("--verb") and index + 1 < len(argv):
      value = argv[index + 1]
    if value is not None and value.isdigit() and int(
        value) >= SHOW_TENSORFLOW_LOG:
      return True
  return False


def without_startup_lines(text):
  """`text` without TensorFlow's C++ start-up lines (`STARTUP_LINE`).

  Args:
    text: what was written to the standard error.

  Returns:
    str: the other lines, in order.
  """
  return "".join(line for line in text.splitlines(keepends=True)
                 if not STARTUP_LINE.match(line))


def import_quietly(module_name):
  """Imports `module_name` with the standard error held back and filtered.

  Where the process has no usable standard error (closed, or None under
  pythonw) the module is imported as it is.

  Args:
    module_name: the module to import.

  Returns:
    The module.

  Raises:
    Exception: whatever the import raises, after the held-back text is
      shown in full.
  """
  try:
    sys.stderr.flush()
    saved = os.dup(2)
  except (AttributeError, OSError, ValueError):
    return importlib.import_module(module_name)
  with tempfile.TemporaryFile() as held_back:
    os.dup2(held_back.fileno(), 2)
    failed = True
    try:
      module = importlib.import_module(module_name)
      failed = False
    finally:
      os.dup2(saved, 2)
      os.close(saved)
      held_back.seek(0)
      text = held_back.read().decode(errors="replace")
      sys.stderr.write(text if failed else without_startup_lines(text))
      sys.stderr.flush()
  return module


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
    cli = import_quietly("tfp_realnvp.cli")
  else:
    cli = importlib.import_module("tfp_realnvp.cli")
  return cli.main(argv)


if __name__ == "__main__":
  sys.exit(main())
