"""The package's structure: its imports form layers with no circle, and `import tfp_realnvp` is light.

The layers, bottom to top (a module imports only from its own layer or
those below; `tfp_realnvp._compat` holds every private API of other
libraries):

- foundation: version, _compat, units, config, images, plots, rest
- flow: bijectors.*, layers.*, architecture, dequantization, latents,
  validation
- model: model, presets, optimization, precision, sources, data, distribute
- files: export, loading, runs
- jobs: sampling, evaluation, callbacks, training, tuning
- command line: cli, __main__ and the package's __init__ (the
  `tfp-realnvp` script's launcher, tfp_realnvp_console, is outside)
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import tfp_realnvp

PACKAGE = "tfp_realnvp"
ROOT = Path(tfp_realnvp.__file__).parent
LAYERS = [
    ("foundation", {"version", "_compat", "units", "config", "images",
                    "plots", "rest"}),
    ("flow", {"bijectors", "layers", "architecture", "dequantization",
              "latents", "validation"}),
    ("model", {"model", "presets", "optimization", "precision", "sources",
               "conditions",
               "data", "distribute"}),
    ("files", {"export", "loading", "runs"}),
    ("jobs", {"sampling", "evaluation", "callbacks", "training", "tuning"}),
    ("command line", {"cli", "__main__", "__init__"}),
]


def module_name(path):
  parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
  if parts[-1] == "__init__" and len(parts) > 1:
    parts.pop()
  return ".".join(parts)


def modules():
  """Module name -> source path, for every module of the package."""
  return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def imported_modules(path, known):
  """The package modules a file imports anywhere (also inside functions)."""
  found = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      found |= {alias.name for alias in node.names
                if alias.name.split(".")[0] == PACKAGE}
    elif isinstance(node, ast.ImportFrom) and node.module and (
        node.module.split(".")[0] == PACKAGE):
      for alias in node.names:
        submodule = f"{node.module}.{alias.name}"
        found.add(submodule if submodule in known else node.module)
  return found


def import_graph():
  known = modules()
  return {name: imported_modules(path, known) - {name}
          for name, path in known.items()}


def find_cycle(graph):
  """A list of modules that import each other in a circle, or None."""
  state, stack = {}, []

  def visit(node):
    state[node] = "open"
    stack.append(node)
    for target in sorted(graph.get(node, ())):
      if state.get(target) == "open":
        return stack[stack.index(target):] + [target]
      if target not in state:
        cycle = visit(target)
        if cycle:
          return cycle
    stack.pop()
    state[node] = "done"
    return None

  for node in sorted(graph):
    if node not in state:
      cycle = visit(node)
      if cycle:
        return cycle
  return None


def layer_of(module):
  short = module[len(PACKAGE) + 1:] if module != PACKAGE else "__init__"
  top = short.split(".")[0]
  for index, (_, members) in enumerate(LAYERS):
    if top in members:
      return index
  raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in "
                       f"{__file__} (and to the README's module list).")


def test_the_cycle_finder_finds_cycles():
  assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c",
                                                              "a"]
  assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_module_imports_itself_in_a_circle():
  graph = import_graph()
  assert len(graph) > 20  # Every module was read.
  cycle = find_cycle(graph)
  assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_modules_import_only_from_their_layer_or_below():
  upward = [f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} "
            f"({LAYERS[layer_of(target)][0]})"
            for module, targets in import_graph().items()
            for target in targets if layer_of(target) > layer_of(module)]
  assert not upward, "\n".join(upward)


OTHER_LIBRARIES = ("tensorflow", "tensorflow_probability", "keras",
                   "keras_tuner", "tensorflow_datasets")
PRIVATE_PARTS = {"python", "internal", "src"}


def test_private_apis_of_other_libraries_live_in_compat_only():
  private = []
  for name, path in modules().items():
    if name == f"{PACKAGE}._compat":
      continue
    for node in ast.walk(ast.parse(path.read_text())):
      modules_named = ([node.module] if isinstance(node, ast.ImportFrom)
                       and node.module else
                       [alias.name for alias in getattr(node, "names", ())]
                       if isinstance(node, ast.Import) else [])
      for module in modules_named:
        parts = module.split(".")
        if parts[0] in OTHER_LIBRARIES and PRIVATE_PARTS & set(parts):
          private.append(f"{name} imports {module}")
  assert not private, "\n".join(private)


@pytest.mark.parametrize("name", ["RealNVP", "ModelConfig", "TrainedModel",
                                  "export_saved_model", "load"])
def test_public_names_are_exported(name):
  assert getattr(tfp_realnvp, name).__name__ == name
  assert name in tfp_realnvp.__all__


def test_keras_files_load_after_importing_the_package_alone():
  keras_file = Path(__file__).parent / "data" / "v0_1_0_conditional.keras"
  code = ("import keras, tfp_realnvp; "
          f"model = keras.models.load_model({str(keras_file)!r}); "
          "print(type(model).__name__, tfp_realnvp.__version__)")
  result = subprocess.run([sys.executable, "-c", code], check=True,
                          capture_output=True, text=True, timeout=300)
  name, version = result.stdout.split()
  assert name == "RealNVP"
  assert version[0].isdigit()  # The installed version, not "unknown".
