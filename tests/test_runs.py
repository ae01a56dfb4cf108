"""tfp_realnvp.runs: the run configuration's checks, the run directory's files, history.csv."""

import json
import math

import pytest

from tfp_realnvp.config import ModelConfig
from tfp_realnvp.runs import RunConfig
from tfp_realnvp.runs import RunDirectory
from tfp_realnvp.runs import RunDirectoryConflict
from tfp_realnvp.runs import check_writable_directory
from tfp_realnvp.runs import read_history_csv
from tfp_realnvp.runs import read_json
from tfp_realnvp.runs import write_json
from tfp_realnvp.training import TrainConfig


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
    (dict(dataset="mnist_full"), "Unknown data set 'mnist_full'"),
    (dict(verbose=4), r"verbose must be one of \(0, 1, 2, 3\); got 4"),
    (dict(model_name="../escaped"), "name must be one directory name of "
     "letters, digits, '_', '-' and '.'"),
    (dict(batch_size=5000), "batch_size 5000 is larger than the 4500 "
     "training images of mnist_bundled: an epoch would run no training step"),
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
  with pytest.raises(ValueError, match=r"bad.json is damaged: it is not "
                     r"valid JSON"):
    read_json(run.file("bad.json"))
  (tmp_path / "random.json").write_bytes(bytes(range(256)))
  with pytest.raises(ValueError, match=r"random.json is damaged"):
    read_json(run.file("random.json"))
  with pytest.raises(OSError, match=r"Cannot read .*missing.json"):
    read_json(run.file("missing.json"))


def test_json_files_hold_no_nan_or_infinity(tmp_path):
  path = str(tmp_path / "metrics.json")
  write_json({"bits_per_dim": math.nan, "curve": [1.5, math.inf, -math.inf],
              "nested": {"x": (2, math.nan)}}, path)
  text = (tmp_path / "metrics.json").read_text()
  assert "NaN" not in text and "Infinity" not in text
  assert json.loads(text, parse_constant=lambda name: 1 / 0) == {
      "bits_per_dim": None, "curve": [1.5, None, None],
      "nested": {"x": [2, None]}}
  assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def a_run_identity(**fields):
  return RunConfig(**fields).identity()


def files_of(path):
  return {p.relative_to(path): p.read_bytes() for p in path.rglob("*")
          if p.is_file()}


def test_a_run_directory_belongs_to_one_configuration(tmp_path):
  run = RunDirectory(str(tmp_path / "run"))
  (tmp_path / "run").mkdir()
  run.claim(a_run_identity(epochs=3))
  assert read_json(run.run_json)["config"]["epochs"] == 3
  (tmp_path / "run" / "history.csv").write_text("epoch,loss\n0,3.0\n")
  before = files_of(tmp_path / "run")
  # The same configuration (where files live and verbosity aside) resumes.
  run.claim(a_run_identity(epochs=3, verbose=0, output_dir="elsewhere"))
  with pytest.raises(RunDirectoryConflict,
                     match=r"another configuration \(conditional: False in "
                     r"the run, True now; epochs: 3 in the run, 5 now\).*"
                     r"--output-dir.*--overwrite"):
    run.claim(a_run_identity(epochs=5, conditional=True))
  assert files_of(tmp_path / "run") == before
  (tmp_path / "run" / "metrics.json").write_text("{}")
  with pytest.raises(RunDirectoryConflict, match="holds a finished run of "
                     "this configuration.*--overwrite"):
    run.claim(a_run_identity(epochs=3))
  run.claim(a_run_identity(epochs=5), overwrite=True)
  assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["run.json"]
  assert read_json(run.run_json)["config"]["epochs"] == 5


def test_nested_fields_are_named_with_their_path(tmp_path):
  identity = TrainConfig(model=ModelConfig(filters=8)).identity()
  assert identity["model"]["filters"] == 8
  for field in ("overwrite", "jit_compile", "learning_rate",
                "gradient_clip_norm", "verbose", "output_dir"):
    assert field not in identity, field
  run = RunDirectory(str(tmp_path))
  run.claim(identity)
  with pytest.raises(RunDirectoryConflict, match=r"\(model.filters: 8 in the "
                     r"run, 16 now\)"):
    run.claim(TrainConfig(model=ModelConfig(filters=16),
                          learning_rate=1e-4).identity())


def test_a_run_recorded_before_an_architecture_field_existed_resumes(tmp_path):
  run = RunDirectory(str(tmp_path))
  identity = TrainConfig(model=ModelConfig(filters=8)).identity()
  older = json.loads(json.dumps(identity))
  del older["model"]["coupling"], older["model"]["invertible_1x1_conv"]
  del older["ema_momentum"]
  write_json({"format": 1, "config": older}, run.run_json)
  # It ran with the defaults of the new fields.
  run.check_claim(identity, defaults=TrainConfig.default_identity())
  with pytest.raises(RunDirectoryConflict, match=r"ema_momentum: 0.0 in the "
                     r"run, 0.99 now"):
    run.check_claim(TrainConfig(model=ModelConfig(filters=8),
                                ema_momentum=0.99).identity(),
                    defaults=TrainConfig.default_identity())
  with pytest.raises(RunDirectoryConflict, match=r"model.coupling: 'affine' "
                     r"in the run, 'additive' now"):
    run.check_claim(TrainConfig(model=ModelConfig(
        filters=8, coupling="additive")).identity())


def test_files_of_an_unrecorded_run_are_not_taken_over(tmp_path):
  run = RunDirectory(str(tmp_path))
  (tmp_path / "model.keras").write_bytes(b"weights")
  (tmp_path / "notes.txt").write_text("mine")
  with pytest.raises(RunDirectoryConflict, match=r"configuration is not "
                     r"recorded \(no run.json; found model.keras\)"):
    run.claim(a_run_identity())
  assert (tmp_path / "model.keras").read_bytes() == b"weights"
  run.claim(a_run_identity(), overwrite=True)
  assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt",
                                                        "run.json"]


def test_an_unwritable_directory_is_named(tmp_path):
  (tmp_path / "a_file").write_text("")
  with pytest.raises(OSError, match=r"Cannot write to --output-dir "
                     r"'.*a_file/run'"):
    check_writable_directory(str(tmp_path / "a_file" / "run"), "--output-dir")
  with pytest.raises(OSError, match=r"Cannot write to --export-dir "
                     r"'/proc/saved_models'"):
    check_writable_directory("/proc/saved_models", "--export-dir")
  check_writable_directory(str(tmp_path / "new" / "run"), "--output-dir")
  assert list((tmp_path / "new" / "run").iterdir()) == []
