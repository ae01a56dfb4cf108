"""tfp_realnvp_console: the `tfp-realnvp` script starts quietly unless asked to show TensorFlow's log."""

import os
import subprocess
import sys

import pytest

import tfp_realnvp_console
from tfp_realnvp.runs import MAX_VERBOSE
from tfp_realnvp_console import wants_tensorflow_log
from tfp_realnvp_console import without_startup_lines

#: Lines TensorFlow's C++ code prints at start-up on a machine without a GPU.
STARTUP_MARKERS = ("I0000", "E0000", "cuInit", "absl::InitializeLog")


def run_cli(*args, **env):
  environment = {k: v for k, v in os.environ.items()
                 if k != "TF_CPP_MIN_LOG_LEVEL"}
  environment.update(env)
  return subprocess.run([sys.executable, "-m", "tfp_realnvp_console", *args],
                        capture_output=True, text=True, timeout=300,
                        env=environment, check=False)


def test_errors_come_alone_without_tensorflow_start_up_lines(tmp_path):
  # Looking for the strategy's GPUs initializes TensorFlow's devices (where
  # cuInit fails without a GPU); then the data set is missing.
  result = run_cli("train", "--dataset", "mnist", "--data-dir",
                   str(tmp_path), "--no-download", "--output-dir",
                   str(tmp_path / "run"))
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  # (TFDS's own Python warnings about the empty data_dir may come first.)
  assert lines[-1].startswith("tfp-realnvp: error:"), result.stderr
  assert "--data-dir" in lines[-1]
  assert not any(marker in result.stderr for marker in STARTUP_MARKERS), (
      result.stderr)


@pytest.mark.parametrize("args, env", [
    (["--verbose", "3"], {}), ([], {"TF_CPP_MIN_LOG_LEVEL": "0"})])
def test_verbose_3_or_the_users_log_level_shows_the_start_up_log(tmp_path,
                                                                 args, env):
  result = run_cli("evaluate", str(tmp_path / "missing.keras"), *args, **env)
  assert result.returncode == 2
  assert any(marker in result.stderr for marker in STARTUP_MARKERS), (
      result.stderr)
  assert result.stderr.strip().endswith("No model file at "
                                        f"'{tmp_path / 'missing.keras'}'.")


def test_wants_tensorflow_log_reads_only_verbose_levels():
  assert tfp_realnvp_console.SHOW_TENSORFLOW_LOG == MAX_VERBOSE
  assert wants_tensorflow_log(["train", "--verbose", "3"])
  assert wants_tensorflow_log(["evaluate", "m.keras", "--verbose=4"])
  assert wants_tensorflow_log(["train", "--verb", "3"])  # argparse's prefix.
  assert not wants_tensorflow_log(["train", "--verbose", "2"])
  assert not wants_tensorflow_log(["train", "--verbose"])
  assert not wants_tensorflow_log(["train", "--epochs", "3"])


def test_only_tensorflows_start_up_lines_are_dropped():
  text = ("WARNING: All log messages before absl::InitializeLog() is called "
          "are written to STDERR\n"
          "I0000 00:00:1796193563.596600    4348 port.cc:153] oneDNN ...\n"
          "E0000 00:00:1796193090.761219    2723 cuda_platform.cc:52] failed "
          "call to cuInit\n"
          "To enable the following instructions: AVX2, in other operations\n"
          "/x/keras/src/module.py:7: UserWarning: a Python warning\n"
          "  warnings.warn(message)\n")
  assert without_startup_lines(text) == (
      "/x/keras/src/module.py:7: UserWarning: a Python warning\n"
      "  warnings.warn(message)\n")
