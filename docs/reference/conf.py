"""Sphinx configuration of the reference documentation (`make docs`).

Why Sphinx (autodoc + napoleon + autosummary) rather than pdoc: it is the
reference-documentation tool Python users expect (NumPy, SciPy, JAX and Flax
use it; TensorFlow, Keras and TFP use generators of their own, not made for
other projects), napoleon reads our Google-style Args/Returns/Raises
sections as they are, and `-W` turns every docstring formatting problem
into a build error that the test suite catches (tests/test_docs.py); pdoc
renders whatever it is given and has no such check. The price, this file,
is small.

Every module gets a page without a hand-kept list: the pages under api/ are
written here, on every build, from a walk of the package (pkgutil), so a new
module appears and a removed one disappears. (autosummary's own recursive
generation cannot be used for that: it would take the module
`tfp_realnvp.bijectors.squeeze` for the function of the same name that the
package re-exports.)

Offline by design: no intersphinx (TF, Keras and TFP inventories would need
the network), so nitpicky stays off and names outside this package render as
code without links.
"""

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

from docutils import nodes
from docutils import utils
from sphinx.domains.python import PyXRefRole
from sphinx.util.nodes import make_refnode

HERE = Path(__file__).resolve().parent
# The checkout being documented comes first, before any installed copy.
sys.path.insert(0, str(HERE.parents[1]))

import tfp_realnvp  # pylint: disable=wrong-import-position

PACKAGE = "tfp_realnvp"
PAGES = "api"  # One generated page per module; git-ignored.

project = PACKAGE
author = "tfp_realnvp developers"
copyright = "tfp_realnvp developers"  # pylint: disable=redefined-builtin

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
html_theme = "alabaster"
html_title = "tfp_realnvp reference"
html_show_sourcelink = False
html_copy_source = False  # The reST pages are generated; "[source]" shows code.
add_module_names = False  # Each page is one module: short names suffice.

autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
    "show-inheritance": True,
    # Packages re-export through __all__; each object is documented once, in
    # the module that defines it (the package's page links to it).
    "ignore-module-all": True,
}
autoclass_content = "both"  # Constructor Args live in __init__ docstrings.
# Overridden Keras hooks without a docstring of ours would otherwise show
# Keras's text (in Keras's Markdown) as if it were ours.
autodoc_inherit_docstrings = False

napoleon_google_docstring = True
napoleon_numpy_docstring = False
# Several names may share one entry ("x, labels: as in `log_prob`."): shown
# as written in a list, where `:param:` fields would read "x," as a type.
napoleon_use_param = False
napoleon_custom_sections = [("Attributes", "params_style")]

# Docstrings follow TensorFlow's style: `x` is code. A dotted Python name in
# backticks links to its documentation when this package has one.
default_role = "code-or-reference"
_PYTHON_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_PYTHON_REFERENCE = PyXRefRole()


def _is_public(module_name):
  return not any(part.startswith("_") for part in module_name.split("."))


def package_modules():
  """The package and its public modules (none named "_..."), imported, packages first."""
  yield tfp_realnvp
  for info in pkgutil.walk_packages(tfp_realnvp.__path__, PACKAGE + "."):
    if _is_public(info.name):
      yield importlib.import_module(info.name)


def public_members(module):
  """Public classes and functions defined in `module` (not imported), in source order."""
  return [(name, obj) for name, obj in vars(module).items()
          if not name.startswith("_")
          and (inspect.isclass(obj) or inspect.isfunction(obj))
          and obj.__module__ == module.__name__]


def _canonical_name(obj):
  """`module.qualname` of a class or function, None for other objects."""
  if inspect.isclass(obj) or inspect.isfunction(obj):
    return f"{obj.__module__}.{obj.__qualname__}"
  return None


def _summary_table(title, names):
  """An autosummary table (name, first docstring line) inside an automodule."""
  if not names:
    return []
  return ([f"   .. rubric:: {title}", "", "   .. autosummary::", ""] +
          [f"      {name}" for name in names] + [""])


def _module_page(module):
  """reST of one module's page: docstring, summary tables, members, submodules."""
  name = module.__name__
  lines = [name, "=" * len(name), "", f".. automodule:: {name}", ""]
  if hasattr(module, "__path__"):
    # What the package re-exports, named relative to it (autosummary wants
    # "model.RealNVP" inside `tfp_realnvp`): links to where it is documented.
    exported = [_canonical_name(getattr(module, member))
                for member in getattr(module, "__all__", ())]
    lines += _summary_table("Exported here", [
        "~" + full_name.removeprefix(name + ".")
        for full_name in exported if full_name])
  members = public_members(module)
  lines += _summary_table("Exceptions", [
      member for member, obj in members
      if inspect.isclass(obj) and issubclass(obj, BaseException)])
  lines += _summary_table("Classes", [
      member for member, obj in members
      if inspect.isclass(obj) and not issubclass(obj, BaseException)])
  lines += _summary_table("Functions", [
      member for member, obj in members if inspect.isfunction(obj)])
  if hasattr(module, "__path__"):
    children = [f"{name}.{info.name}"
                for info in pkgutil.iter_modules(module.__path__)
                if _is_public(info.name)]
    lines += [".. rubric:: Modules", ""]
    for child in children:
      summary = inspect.getdoc(importlib.import_module(child)) or " "
      lines.append(f"- :mod:`{child}`: {summary.splitlines()[0]}")
    lines += ["", ".. toctree::", "   :hidden:", ""]
    lines += [f"   {child}" for child in children] + [""]
  return "\n".join(lines)


def write_module_pages():
  """Writes api/<module>.rst for every module and deletes the pages of modules that are gone.

  Unchanged pages are left alone, so that Sphinx rebuilds only what changed
  and two builds at once (`make docs`, the test) do not pull pages from
  under each other.
  """
  directory = HERE / PAGES
  directory.mkdir(exist_ok=True)
  pages = {f"{module.__name__}.rst": _module_page(module)
           for module in package_modules()}
  for stale in set(path.name for path in directory.iterdir()) - set(pages):
    (directory / stale).unlink()
  for file_name, text in pages.items():
    path = directory / file_name
    if not path.exists() or path.read_text(encoding="utf-8") != text:
      path.write_text(text, encoding="utf-8")


write_module_pages()


def _code_or_reference(name, rawtext, text, lineno, inliner, options=None,
                       content=()):
  """Role of `text`: a Python name becomes a reference (code if unresolved), the rest code."""
  if _PYTHON_NAME.fullmatch(text):
    return _PYTHON_REFERENCE("py:obj", rawtext, text, lineno, inliner,
                             options or {}, content)
  return [nodes.literal(rawtext, utils.unescape(text))], []


def _import_path(dotted):
  """The object a dotted name of this package imports as, or None."""
  parts = dotted.split(".")
  for split in range(len(parts), 0, -1):
    try:
      obj = importlib.import_module(".".join(parts[:split]))
    except ImportError:
      continue
    try:
      for attribute in parts[split:]:
        obj = getattr(obj, attribute)
    except AttributeError:
      return None
    return obj
  return None


def _resolve_elsewhere(app, env, node, contnode):
  """Resolves what the Python domain could not.

  `tfp_realnvp.RealNVP` (a re-export) links to `tfp_realnvp.model.RealNVP`,
  and a dotted name such as `RealNVP.encode` used outside its module links to
  the one object whose full name ends with it (none or several: no link).
  """
  if node.get("refdomain") != "py":
    return None
  domain = env.get_domain("py")
  target = node["reftarget"]
  if target.startswith(PACKAGE + "."):
    canonical = _canonical_name(_import_path(target))
    if canonical and canonical != target:
      return domain.resolve_xref(env, node["refdoc"], app.builder,
                                 node["reftype"], canonical, node, contnode)
  if "." in target:
    matches = domain.find_obj(env, "", "", target, None, searchmode=1)
    if len(matches) == 1:
      full_name, entry = matches[0]
      return make_refnode(app.builder, node["refdoc"], entry.docname,
                          entry.node_id, contnode, full_name)
  return None


def _constructor_signature(app, what, name, obj, options, signature,
                           return_annotation):
  """A class's signature from its own `__init__`.

  autodoc prefers `__new__`, and `keras.Model.__new__` takes (*args, **kwargs).
  """
  del app, name, options
  if what == "class" and "__init__" in vars(obj):
    parameters = list(inspect.signature(obj.__init__).parameters.values())[1:]
    signature = str(inspect.Signature(parameters))
  return signature, return_annotation


# Public names of the third-party base classes our classes extend.
_PUBLIC_NAMESPACES = ("keras", "keras.layers", "keras.callbacks", "keras_tuner",
                      "tensorflow_probability.bijectors")


def _public_bases(app, name, obj, options, bases):
  """Shows base classes under their public names (`keras.Model`, not keras.src...)."""
  del app, name, obj, options
  for index, base in enumerate(bases):
    for namespace in _PUBLIC_NAMESPACES:
      if getattr(_import_path(namespace), base.__name__, None) is base:
        bases[index] = f"``{namespace}.{base.__name__}``"
        break


_FENCE = re.compile(r"^(\s*)```\s*(\w*)\s*$")


def _markdown_fences_to_code_blocks(app, what, name, obj, options, lines):
  """Turns TF-style ```none fenced blocks of a docstring into code-block directives."""
  del app, what, name, obj, options
  converted, fence_indent = [], None
  for line in lines:
    fence = _FENCE.match(line)
    if fence and fence_indent is None:
      fence_indent = fence.group(1)
      if converted and converted[-1].strip():
        converted.append("")
      converted += [f"{fence_indent}.. code-block:: {fence.group(2) or 'none'}",
                    ""]
    elif fence:
      fence_indent = None
      converted.append("")
    elif fence_indent is not None:
      converted.append("   " + line if line.strip() else "")
    else:
      converted.append(line)
  lines[:] = converted


def setup(app):
  app.add_role("code-or-reference", _code_or_reference)
  app.connect("autodoc-process-docstring", _markdown_fences_to_code_blocks)
  app.connect("autodoc-process-signature", _constructor_signature)
  app.connect("autodoc-process-bases", _public_bases)
  app.connect("missing-reference", _resolve_elsewhere)
