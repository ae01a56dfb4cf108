"""The notebooks in notebooks/: stored without outputs, and each runs top to bottom.

Each notebook runs in a fresh Jupyter kernel (ipykernel's `python3` kernel,
which runs this interpreter) under the small budget
(TFP_REALNVP_NOTEBOOK_BUDGET=small: a tiny model, a few training steps). The
six share one temporary output directory (TFP_REALNVP_NOTEBOOK_DIR), so, run
in order, 03 and 04 load the models that 01 and 02 saved, as they do for a
user; run alone, they train their own.
"""

import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

import tfp_realnvp

REPOSITORY = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = REPOSITORY / "notebooks"
KERNEL_NAME = "python3"
CELL_TIMEOUT = 600  # seconds; the small budget needs a few
CLEAR_HINT = ("clear them before committing: jupyter nbconvert --clear-output "
              "--inplace notebooks/*.ipynb (or, in JupyterLab, Edit > Clear "
              "Outputs of All Cells, then save)")

# What each notebook must show: at least this many images, and these texts.
EXPECTED = {
    "01_quickstart": (5, ["held-out bits/dim:", "max |decode(encode(x)) - x|"]),
    "02_conditional_generation": (
        3, ["accuracy on the 500 held-out digits", "held-out bits/dim given"]),
    "03_latent_space": (3, ["|z_t| / sqrt(D)", "scale 1: (14, 14, 2)"]),
    "04_serving": (2, ['"predictions"', '"outputs"',
                       '"error": "assertion failed: [labels must lie in [0, 10)']),
    "05_tuning": (1, ["COMPLETED", "val_bits_per_dim"]),
    "06_conditional_inn": (3, ["held-out bits/dim given the 7x7 digit:",
                               "held-out bits/dim without it:",
                               "pixel levels"]),
}
# Files each notebook leaves in the output directory.
EXPECTED_FILES = {
    "01_quickstart": ["quickstart/model.keras", "quickstart/learning_curve.png"],
    "02_conditional_generation": ["conditional/model.keras",
                                  "conditional/learning_curve.png"],
    "03_latent_space": ["quickstart/model.keras"],
    "04_serving": [
        "saved_models/real_nvp_mnist_bundled_conditional/1/saved_model.pb",
        "sample_request.json"],
    "05_tuning": ["tuning/depth/oracle.json"],
    "06_conditional_inn": [
        "super_resolution/model.keras",
        "saved_models/real_nvp_mnist_bundled_downsampled_4/1/saved_model.pb"],
}
# The first cell run in every kernel: which interpreter and package it uses.
PROBE = "import sys, tfp_realnvp\nprint(sys.prefix)\nprint(tfp_realnvp.__file__)"


def read(name):
  return nbformat.read(NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)


def test_the_notebooks_are_the_six_expected_ones():
  assert sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_is_stored_without_outputs(name):
  notebook = read(name)
  nbformat.validate(notebook)
  assert notebook.metadata.kernelspec.name == KERNEL_NAME
  assert "widgets" not in notebook.metadata
  code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
  assert code_cells and notebook.cells[0].cell_type == "markdown"
  for index, cell in enumerate(notebook.cells):
    if cell.cell_type == "code":
      assert cell.outputs == [] and cell.execution_count is None, (
          f"{name}.ipynb cell {index} has stored outputs; {CLEAR_HINT}")
      assert "execution" not in cell.metadata, f"cell {index}: timing metadata"


def test_the_kernel_is_found_in_this_environment():
  spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
  assert "ipykernel_launcher" in spec.argv


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory):
  """One output directory for the six notebooks, as runs/notebooks/ is for a user."""
  return tmp_path_factory.mktemp("notebooks")


def repository_entries():
  return ({p.name for p in REPOSITORY.iterdir()},
          {p.name for p in NOTEBOOKS_DIR.iterdir()})


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_top_to_bottom_under_the_small_budget(
    name, output_dir, monkeypatch):
  monkeypatch.setenv("TFP_REALNVP_NOTEBOOK_BUDGET", "small")
  monkeypatch.setenv("TFP_REALNVP_NOTEBOOK_DIR", str(output_dir))
  notebook = read(name)
  notebook.cells.insert(0, nbformat.v4.new_code_cell(PROBE))
  before = repository_entries()
  client = NotebookClient(
      notebook, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT,
      resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
  # A failing cell raises CellExecutionError with its source and traceback.
  client.execute()

  probe = "".join(o.get("text", "") for o in notebook.cells[0].outputs)
  assert probe.split() == [sys.prefix, tfp_realnvp.__file__], (
      "the kernel runs another interpreter or package than the tests")
  outputs = [o for cell in notebook.cells[1:] if cell.cell_type == "code"
             for o in cell.outputs]
  assert not [o for o in outputs if o.output_type == "error"]
  images = [o for o in outputs if "image/png" in o.get("data", {})]
  text = "".join(o.get("text", "") for o in outputs)
  min_images, texts = EXPECTED[name]
  assert len(images) >= min_images, text[-3000:]
  for expected in texts:
    assert expected in text, f"{expected!r} not in the output:\n{text[-3000:]}"
  for path in EXPECTED_FILES[name]:
    assert (output_dir / path).is_file(), path
  assert repository_entries() == before, "the notebook wrote into the repository"
