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
- Sections are there where the code calls for them (read from the source
  with `ast`):

  - `Args:` in every public function that takes parameters and in every
    public class whose own `__init__` does (the class's or the
    `__init__`'s docstring); `*args` and `**kwargs` alone (passed on) do not
    count. A dataclass with fields has `Attributes:` instead.
  - `Returns:` in every public function whose own body has a
    `return <value>` or whose signature annotates a result other than None;
    `Yields:` instead in a generator (also behind `contextlib.contextmanager`).
  - `Raises:` naming `SomeError` in every public function, constructor
    (`__init__`, a dataclass's `__post_init__`: the class's docstring or the
    `__init__`'s) and public method whose own body has `raise SomeError`
    (`raise SomeError(...)`, `raise module.SomeError`). Code of nested
    functions belongs to them, not to the function around them; a bare
    `raise` or `raise some_variable` names nothing. Every entry of those
    docstrings' `Raises:` sections has the form "SomeError: text" (napoleon
    renders "As `load`." as the name of an error).

  The same `Args:`/`Returns:`/`Yields:` rules hold for the public methods a
  class introduces (not for those overriding a base class's, such as Keras
  hooks, which their library documents).
- Every module-level name given a `#:` doc comment (the constants) has an
  entry in the reference, and no entry shows a napoleon "Type" field (a
  colon in the first line of a `#:` comment or of a property's docstring
  makes napoleon take the words before it for a type).

The checks of the sections are tested themselves on small examples
(`test_section_checks_catch_what_is_missing`), so that a check that has
stopped finding anything does not pass unnoticed.

Not enforced: what errors a function lets through from the functions it
calls (its `Raises:` may add them), and that the text is true; shapes,
dtypes, units and sources are for the reviewer.
"""

import ast
import contextlib
import dataclasses
import importlib
import inspect
import pkgutil
import re
import textwrap
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


# "name: text", "a, b: text", "**kwargs: text", "tf.errors.SomeError: text".
_ENTRY = re.compile(
    r"(\*{0,2}[\w.]+(?:, \*{0,2}[\w.]+)*)\s*(?:\([^)]*\))?:(\s|$)")


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


# --- Sections the code calls for: Args, Returns/Yields, Raises. ---


def _function_node(function):
  """The `ast` node of a function's definition (decorators unwrapped)."""
  source = textwrap.dedent(inspect.getsource(inspect.unwrap(function)))
  return ast.parse(source).body[0]


def _own_nodes(function_node):
  """The nodes of a function's body, without the bodies of functions, lambdas and classes inside it."""
  stack = list(function_node.body)
  while stack:
    node = stack.pop()
    yield node
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.Lambda, ast.ClassDef)):
      stack.extend(ast.iter_child_nodes(node))


def raised_names(function):
  """Class names of what the function's own body raises ("ValueError"), sorted."""
  names = set()
  for node in _own_nodes(_function_node(function)):
    if isinstance(node, ast.Raise) and node.exc is not None:
      raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
      name = (raised.attr if isinstance(raised, ast.Attribute)
              else getattr(raised, "id", ""))
      if name[:1].isupper():  # `raise error` re-raises a variable.
        names.add(name)
  return sorted(names)


def result_section(function):
  """"Yields" for a generator, "Returns" for a function that returns a value, else None."""
  nodes = list(_own_nodes(_function_node(function)))
  if any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in nodes):
    return "Yields"
  annotation = inspect.signature(function).return_annotation
  if annotation not in (inspect.Signature.empty, None, "None"):
    return "Returns"
  if any(isinstance(node, ast.Return) and node.value is not None and not (
      isinstance(node.value, ast.Constant) and node.value.value is None)
         for node in nodes):
    return "Returns"
  return None


def _named_parameters(function, skip_first):
  """Parameters a caller names: all but self/cls and *args/**kwargs."""
  parameters = list(inspect.signature(function).parameters.values())
  if skip_first:
    parameters = parameters[1:]
  return [p.name for p in parameters
          if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _raises_problems(name, function, docstring):
  """Errors raised but not named in Raises; Raises entries that name no error."""
  entries = section_entries(docstring, "Raises")
  documented = {entry.rsplit(".", 1)[-1] for entry in entries}
  missing = [error for error in raised_names(function)
             if error not in documented]
  # napoleon takes an entry without "Name:" ("As `load`.") for an error's name.
  malformed = [entry for entry in entries if entry.startswith("<")]
  return ([f"{name}: raises {missing} without a Raises entry for it"]
          if missing else []) + [f"{name}: Raises entry {entry}"
                                 for entry in malformed]


def _public_methods(cls):
  """(name, function) of the public methods `cls` defines itself (properties excluded)."""
  for name, member in vars(cls).items():
    if isinstance(member, (classmethod, staticmethod)):
      member = member.__func__
    if not name.startswith("_") and inspect.isfunction(member):
      yield name, member


def missing_sections(name, obj):
  """The sections that a public function or class lacks although its code calls for them."""
  problems = []
  if inspect.isfunction(obj):
    docstring = _own_docstring(obj)
    if (_named_parameters(obj, skip_first=False)
        and not section_entries(docstring, "Args")):
      problems.append(f"{name}: takes parameters but has no Args section")
    section = result_section(obj)
    if section and not section_entries(docstring, section):
      problems.append(f"{name}: has no {section} section")
    return problems + _raises_problems(name, obj, docstring)
  init = vars(obj).get("__init__")  # None: the base class's constructor.
  docstring = _own_docstring(obj)
  constructors = []
  if dataclasses.is_dataclass(obj):
    if (dataclasses.fields(obj)
        and not section_entries(docstring, "Attributes")):
      problems.append(f"{name}: a dataclass with fields but no Attributes "
                      f"section")
    constructors = [vars(obj)[hook] for hook in ("__post_init__",)
                    if hook in vars(obj)]
  elif init is not None:
    docstring += "\n\n" + inspect.cleandoc(init.__doc__ or "")
    if (_named_parameters(init, skip_first=True)
        and not section_entries(docstring, "Args")):
      problems.append(f"{name}: __init__ takes parameters but neither the "
                      f"class nor __init__ has an Args section")
    constructors = [init]
  for constructor in constructors:
    problems += _raises_problems(f"{name}.{constructor.__name__}",
                                 constructor, docstring)
  for method_name, method in _public_methods(obj):
    method_docstring = _own_docstring(method)
    if not any(hasattr(base, method_name) for base in obj.__mro__[1:]):
      # A method of the class's own, not a hook it overrides.
      if (_named_parameters(method, skip_first=True)
          and not section_entries(method_docstring, "Args")):
        problems.append(f"{name}.{method_name}: takes parameters but has no "
                        f"Args section")
      section = result_section(method)
      if section and not section_entries(method_docstring, section):
        problems.append(f"{name}.{method_name}: has no {section} section")
    problems += _raises_problems(f"{name}.{method_name}", method,
                                 method_docstring)
  return problems


def test_sections_the_code_calls_for_are_there():
  problems = [problem for name, obj in PUBLIC.items()
              for problem in missing_sections(name, obj)]
  assert not problems, "\n".join(problems)


# Examples for the checks above: each is complete; removing a section (the
# test below does) must be reported.


def _example_function(x, *args, **kwargs):
  """Summary.

  Args:
    x: a value.
    *args, **kwargs: passed on.

  Returns:
    x.

  Raises:
    ValueError: for None.
    tf.errors.InvalidArgumentError: a dotted name counts by its last part.
  """
  del args, kwargs

  def nested():  # Its raise and return are its own.
    raise TypeError("not the example's")

  if x is None:
    raise ValueError("x is None")
  if x == "dotted":
    raise tf_errors.InvalidArgumentError(None, None, "dotted")
  try:
    nested()
  except TypeError as error:
    raise error  # A variable: names no class.
  return x


class tf_errors:  # pylint: disable=invalid-name
  """Stands in for `tf.errors` in `_example_function`."""

  class InvalidArgumentError(Exception):
    """An error reached through an attribute."""


def _example_passthrough(*args, **kwargs):
  """Takes nothing of its own, returns nothing, raises nothing: needs no section."""
  del args, kwargs
  return None


@contextlib.contextmanager
def _example_generator(name):
  """Summary.

  Args:
    name: a name.

  Yields:
    None.
  """
  del name
  yield


def _example_annotated() -> int:
  """Summary.

  Returns:
    An int, announced by the annotation only.

  Raises:
    NotImplementedError: always.
  """
  raise NotImplementedError  # Class names count without a call too.


class _ExampleBase:
  """A base class whose method `hook` the example overrides."""

  def hook(self, value):
    """Documented here."""
    return value


class _ExampleClass(_ExampleBase):
  """Summary.

  Args:
    size: an int.

  Raises:
    ValueError: for a negative size.
  """

  def __init__(self, size):
    if size < 0:
      raise ValueError("size")
    self.size = size

  def hook(self, value):  # An override: only its raises need a section.
    """Summary.

    Raises:
      KeyError: always.
    """
    raise KeyError(value)

  def scaled(self, factor):
    """Summary.

    Args:
      factor: a number.

    Returns:
      size * factor.
    """
    return self.size * factor


@dataclasses.dataclass
class _ExampleConfig:
  """Summary.

  Attributes:
    size: an int.

  Raises:
    ValueError: for a negative size.
  """
  size: int = 0

  def __post_init__(self):
    if self.size < 0:
      raise ValueError("size")


def _without(docstring, section):
  """`docstring` without its `section` (header and indented entries)."""
  lines, kept, skipping = inspect.cleandoc(docstring).splitlines(), [], None
  for line in lines:
    indent = len(line) - len(line.lstrip())
    if line.strip() == f"{section}:":
      skipping = indent
      continue
    if skipping is not None and (not line.strip() or indent > skipping):
      continue
    skipping = None
    kept.append(line)
  return "\n".join(kept)


@pytest.mark.parametrize("obj, section, holder, expected", [
    (_example_function, "Args", None, "no Args section"),
    (_example_function, "Returns", None, "no Returns section"),
    (_example_function, "Raises", None,
     "raises ['InvalidArgumentError', 'ValueError']"),
    (_example_generator, "Yields", None, "no Yields section"),
    (_example_generator, "Args", None, "no Args section"),
    (_example_annotated, "Returns", None, "no Returns section"),
    (_example_annotated, "Raises", None, "raises ['NotImplementedError']"),
    (_ExampleClass, "Args", None, "neither the class nor __init__"),
    (_ExampleClass, "Raises", None, "__init__: raises ['ValueError']"),
    (_ExampleClass, "Raises", "hook", "hook: raises ['KeyError']"),
    (_ExampleClass, "Args", "scaled", "scaled: takes parameters"),
    (_ExampleClass, "Returns", "scaled", "scaled: has no Returns section"),
    (_ExampleConfig, "Attributes", None, "no Attributes section"),
    (_ExampleConfig, "Raises", None, "__post_init__: raises ['ValueError']"),
])
def test_section_checks_catch_what_is_missing(monkeypatch, obj, section,
                                              holder, expected):
  assert not missing_sections("example", obj)  # Complete as written.
  target = getattr(obj, holder) if holder else obj
  monkeypatch.setattr(target, "__doc__", _without(target.__doc__, section))
  problems = missing_sections("example", obj)
  assert len(problems) == 1 and expected in problems[0], problems


def _example_prose_raises():
  """Summary.

  Raises:
    As `_example_function`.
  """


def test_raises_entries_name_an_error():
  assert missing_sections("example", _example_prose_raises) == [
      "example: Raises entry <malformed entry 'As `_example_function`.'>"]


def test_nothing_is_required_where_the_code_needs_nothing():
  assert not missing_sections("example", _example_passthrough)
  assert result_section(_example_passthrough) is None
  assert raised_names(_example_function) == ["InvalidArgumentError",
                                             "ValueError"]


# --- Constants documented with `#:` comments. ---

_DOC_COMMENT_TARGET = re.compile(r"^#:.*\n(?:#:.*\n)*([A-Za-z]\w*)\s*(?::[^=\n]*)?=",
                                 re.MULTILINE)


def test_documented_constants_are_in_the_reference(html_ids):
  all_ids = set().union(*html_ids.values())
  documented = [f"{module.__name__}.{name}" for module in MODULES
                for name in _DOC_COMMENT_TARGET.findall(
                    Path(module.__file__).read_text(encoding="utf-8"))]
  assert "tfp_realnvp.presets.PRESETS" in documented  # The walk finds some.
  missing = [name for name in documented if name not in all_ids]
  assert not missing, f"#: documented names missing from the reference: {missing}"


def test_no_entry_shows_a_napoleon_type_field(build):
  _, _, html_dir = build
  pages = [page.stem for page in html_dir.rglob("*.html")
           if re.search(r">Type<span class=\"colon\">",
                        page.read_text(encoding="utf-8"))]
  assert not pages, (f"a 'Type' field (a colon in the first line of a #: "
                     f"comment or property docstring?) on: {pages}")
