"""The reference documentation builds without warnings and covers the package.

What is enforced, for every module that pkgutil finds under `tfp_realnvp`
(so a new module is checked without editing this file; modules named
"_name" are private and skipped) and every public
class or function of it (a module-level name not starting with "_" whose
`__module__` is that module, i.e. defined there, not imported):

- `make docs`'s Sphinx build (docs/reference) succeeds with warnings as
  errors (`-W --keep-going`): docstring formatting problems fail it.
- The HTML has the module's page (anchor `module-<module>`) and an entry for
  each public class and function (anchor `<module>.<name>`), and each
  package's page links to every class and function its `__all__` exports.
- Each public class and function has a docstring of its own (not inherited,
  not the one `dataclasses` generates).
- Where a docstring (for a class: the class's or its `__init__`'s) has an
  `Args:` section, its entries name parameters of the signature and name all
  of them; a dataclass's `Attributes:` entries name its fields, all of them.
  An entry may name several ("x, labels: as in `log_prob`.").

Not enforced, because many existing docstrings describe arguments and
results in prose instead: that every function taking arguments has an
`Args:` section and every function returning a value a `Returns:` section.
"""

import dataclasses
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from sphinx.cmd.build import build_main

import tfp_realnvp

# Sphinx 9's napoleon calls an autodoc interface Sphinx 9 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The mapping interface for autodoc options")

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIR = ROOT / "docs" / "reference"


def _modules():
  """tfp_realnvp and every module under it but private ones ("_name")."""
  modules = [tfp_realnvp]
  for info in pkgutil.walk_packages(tfp_realnvp.__path__, "tfp_realnvp."):
    if not any(part.startswith("_") for part in info.name.split(".")):
      modules.append(importlib.import_module(info.name))
  return modules


MODULES = _modules()


def _public_objects(module):
  return {name: obj for name, obj in vars(module).items()
          if not name.startswith("_")
          and (inspect.isclass(obj) or inspect.isfunction(obj))
          and obj.__module__ == module.__name__}


PUBLIC = {f"{module.__name__}.{name}": obj for module in MODULES
          for name, obj in _public_objects(module).items()}


def test_package_walk_finds_the_public_api():
  # Guards the walk itself: an empty walk would make every check pass.
  module_names = {module.__name__ for module in MODULES}
  assert {"tfp_realnvp.cli", "tfp_realnvp.bijectors.coupling",
          "tfp_realnvp.layers.weight_norm_conv"} <= module_names
  assert {"tfp_realnvp.model.RealNVP", "tfp_realnvp.cli.main",
          "tfp_realnvp.bijectors.squeeze.squeeze"} <= set(PUBLIC)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
  """Builds the HTML reference once, as `make docs` does, into a temporary directory."""
  out = tmp_path_factory.mktemp("docs")
  warnings = out / "warnings.txt"
  status = build_main([
      "-W", "--keep-going", "-q", "-N", "-b", "html",
      "-d", str(out / "doctrees"), "-w", str(warnings),
      str(SOURCE_DIR), str(out / "html")])
  return status, warnings.read_text(encoding="utf-8"), out / "html"


@pytest.fixture(scope="module")
def html_ids(build):
  """Every id= anchor of the built HTML, per page name."""
  _, _, html_dir = build
  return {page.stem: set(re.findall(r'\sid="([^"]+)"',
                                     page.read_text(encoding="utf-8")))
          for page in html_dir.rglob("*.html")}


def test_docs_build_without_warnings(build):
  status, warnings, _ = build
  if warnings.strip():
    pytest.fail(f"Sphinx warnings (errors with -W):\n{warnings}")
  assert status == 0


def test_every_module_has_a_page(html_ids):
  all_ids = set().union(*html_ids.values())
  missing = [module.__name__ for module in MODULES
             if f"module-{module.__name__}" not in all_ids]
  assert not missing, f"modules without a reference page: {missing}"


def test_every_public_class_and_function_is_documented(html_ids):
  all_ids = set().union(*html_ids.values())
  missing = sorted(name for name in PUBLIC if name not in all_ids)
  assert not missing, f"public names missing from the reference: {missing}"


def test_package_pages_link_their_exports(build):
  _, _, html_dir = build
  missing = []
  for module in MODULES:
    if not hasattr(module, "__path__"):
      continue
    page = next(html_dir.rglob(f"{module.__name__}.html")).read_text(
        encoding="utf-8")
    for name in getattr(module, "__all__", ()):
      obj = getattr(module, name)
      if inspect.isclass(obj) or inspect.isfunction(obj):
        target = f"{obj.__module__}.{obj.__qualname__}"
        if f'#{target}"' not in page:
          missing.append(f"{module.__name__}.{name} -> {target}")
  assert not missing, f"exports not linked from their package's page: {missing}"


def _own_docstring(obj):
  """The docstring written for `obj` itself, "" if none."""
  if inspect.isclass(obj):
    doc = vars(obj).get("__doc__")
    if dataclasses.is_dataclass(obj) and doc == (
        obj.__name__ + str(inspect.signature(obj)).replace(" -> None", "")):
      doc = None  # dataclasses puts the signature where a docstring is missing.
  else:
    doc = obj.__doc__
  return inspect.cleandoc(doc) if doc else ""


def test_every_public_class_and_function_has_a_docstring():
  missing = sorted(name for name, obj in PUBLIC.items()
                   if not _own_docstring(obj).strip())
  assert not missing, f"public names without a docstring: {missing}"


_ENTRY = re.compile(r"(\*{0,2}\w+(?:, \*{0,2}\w+)*)\s*(?:\([^)]*\))?:(\s|$)")


def section_entries(docstring, section):
  """Names of the entries of a Google-style section ("Args") of a docstring.

  The entries are the lines indented one step below the section's header
  ("name: text" or "a, b: text"); deeper lines continue an entry.
  """
  names, lines = [], inspect.cleandoc(docstring).splitlines()
  for index, line in enumerate(lines):
    if line.strip() != f"{section}:":
      continue
    header_indent = len(line) - len(line.lstrip())
    entry_indent = None
    for entry in lines[index + 1:]:
      if not entry.strip():
        continue
      indent = len(entry) - len(entry.lstrip())
      if indent <= header_indent:
        break
      entry_indent = entry_indent or indent
      if indent == entry_indent:
        match = _ENTRY.match(entry.strip())
        names += (match.group(1).replace("*", "").split(", ") if match
                  else [f"<malformed entry {entry.strip()!r}>"])
    if entry_indent is None:
      names.append(f"<{section} section without indented entries>")
  return names


def _parameters(function, skip_first):
  names = [p.name for p in inspect.signature(function).parameters.values()]
  return names[1:] if skip_first else names


def test_section_entry_parser():
  docstring = """Summary.

    Args:
      x, labels: as in `log_prob`.
      temperature: float > 0: the spread,
        continued: here.
      **kwargs: passed on.

    Returns:
      y: not an argument.
    """
  assert section_entries(docstring, "Args") == ["x", "labels", "temperature",
                                                "kwargs"]
  assert section_entries("Summary.\n\n  Args:\n    not an entry\n",
                         "Args") == ["<malformed entry 'not an entry'>"]
  # What napoleon cannot read either: entries not indented under the header.
  assert section_entries("Args:\n      x: text.\n      y: text.\n",
                         "Args") == ["<Args section without indented entries>"]


def _section_problems(name, obj):
  """How the Args/Attributes entries of a public object differ from its parameters."""
  if inspect.isfunction(obj):
    checks = [("Args", section_entries(_own_docstring(obj), "Args"),
               _parameters(obj, skip_first=False))]
  elif dataclasses.is_dataclass(obj):
    fields = [field.name for field in dataclasses.fields(obj)]
    checks = [(section, section_entries(_own_docstring(obj), section), fields)
              for section in ("Args", "Attributes")]
  else:
    init = vars(obj).get("__init__")  # None: the base class's constructor.
    documented = section_entries(_own_docstring(obj), "Args")
    if init is not None:
      documented += section_entries(init.__doc__ or "", "Args")
    checks = [("Args", documented,
               _parameters(init, skip_first=True) if init else [])]
  return [f"{name}: {section} {documented} != {parameters}"
          for section, documented, parameters in checks
          if documented and sorted(documented) != sorted(parameters)]


def test_args_and_attributes_sections_match_the_signatures():
  problems = [problem for name, obj in PUBLIC.items()
              for problem in _section_problems(name, obj)]
  assert not problems, "\n".join(problems)
