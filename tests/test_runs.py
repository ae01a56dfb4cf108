"""tfp_realnvp.runs: the run configuration's checks, the run directory's files, history.csv."""

import math

import pytest

from tfp_realnvp.runs import RunConfig
from tfp_realnvp.runs import RunDirectory
from tfp_realnvp.runs import read_history_csv
from tfp_realnvp.runs import read_json
from tfp_realnvp.runs import write_json


def test_history_reading_keeps_every_epoch_and_missing_values(tmp_path):
  history_path = tmp_path / "history.csv"
  history_path.write_text("epoch,bits_per_dim,val_bits_per_dim\n"
                          "0,3.0,2.5\n1,2.0,NA\n")
  history = read_history_csv(str(history_path))
  assert history["bits_per_dim"] == [3.0, 2.0]
  assert history["val_bits_per_dim"][0] == 2.5
  assert math.isnan(history["val_bits_per_dim"][1])  # Keras's "NA".
  (tmp_path / "empty.csv").write_text("epoch,bits_per_dim\n")
  assert read_history_csv(str(tmp_path / "empty.csv")) == {}


@pytest.mark.parametrize("fields, message", [
    (dict(epochs=0), "epochs must be >= 1; got 0"),
    (dict(batch_size=0), "batch_size must be >= 1"),
    (dict(steps_per_epoch=-1), "steps_per_epoch must be >= 0"),
    (dict(strategy="tpu"), "strategy must be one of"),
    (dict(dataset="mnist_full"), "dataset must be one of"),
    (dict(verbose=4), r"verbose must be one of \(0, 1, 2, 3\); got 4"),
])
def test_run_config_names_what_is_wrong(fields, message):
  with pytest.raises(ValueError, match=message):
    RunConfig(**fields)


def test_classes_come_from_the_data_set():
  assert RunConfig().num_classes() is None
  assert RunConfig(conditional=True).num_classes() == 10
  with pytest.raises(ValueError, match="'celeb_a' has no class labels"):
    RunConfig(dataset="celeb_a", conditional=True).num_classes()
  assert RunConfig(verbose=3).keras_verbose == 2


def test_run_directory_names_the_files_of_a_run(tmp_path):
  run = RunDirectory(str(tmp_path))
  assert run.config_json == str(tmp_path / "config.json")
  assert run.best_checkpoint == str(tmp_path / "checkpoints" /
                                    "best.weights.h5")
  assert run.backup == str(tmp_path / "backup")
  assert run.history_csv == str(tmp_path / "history.csv")
  write_json({"a": [1, 2.5]}, run.metrics_json)
  assert read_json(run.metrics_json) == {"a": [1, 2.5]}
  (tmp_path / "bad.json").write_text("{")
  with pytest.raises(ValueError):
    read_json(run.file("bad.json"))
