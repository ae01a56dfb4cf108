"""tfp_realnvp.__main__: the command line starts quietly unless asked to show TensorFlow's log."""

import os
import subprocess
import sys

import pytest

from tfp_realnvp.__main__ import wants_tensorflow_log

#: Lines TensorFlow's C++ code prints at start-up on a machine without a GPU.
STARTUP_MARKERS = ("I0000", "E0000", "cuInit", "absl::InitializeLog")


def run_cli(*args, **env):
  environment = {k: v for k, v in os.environ.items()
                 if k != "TF_CPP_MIN_LOG_LEVEL"}
  environment.update(env)
  return subprocess.run([sys.executable, "-m", "tfp_realnvp", *args],
                        capture_output=True, text=True, timeout=300,
                        env=environment, check=False)


def test_errors_come_alone_without_tensorflow_start_up_lines(tmp_path):
  # evaluate loads TensorFlow, looks for devices and fails on the file.
  result = run_cli("evaluate", str(tmp_path / "missing.keras"))
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [
      f"tfp-realnvp: error: No model file at "
      f"'{tmp_path / 'missing.keras'}'."]


@pytest.mark.parametrize("args, env", [
    (["--verbose", "3"], {}), (["--verbose=3"], {}),
    ([], {"TF_CPP_MIN_LOG_LEVEL": "0"})])
def test_verbose_3_or_the_users_log_level_shows_the_start_up_log(tmp_path,
                                                                 args, env):
  result = run_cli("evaluate", str(tmp_path / "missing.keras"), *args, **env)
  assert result.returncode == 2
  assert any(marker in result.stderr for marker in STARTUP_MARKERS), (
      result.stderr)
  assert result.stderr.strip().endswith("No model file at "
                                        f"'{tmp_path / 'missing.keras'}'.")


def test_wants_tensorflow_log_reads_only_verbose_levels():
  assert wants_tensorflow_log(["train", "--verbose", "3"])
  assert wants_tensorflow_log(["evaluate", "m.keras", "--verbose=4"])
  assert not wants_tensorflow_log(["train", "--verbose", "2"])
  assert not wants_tensorflow_log(["train", "--verbose"])
  assert not wants_tensorflow_log(["train", "--epochs", "3"])
