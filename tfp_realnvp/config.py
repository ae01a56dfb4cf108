"""The model configuration: every architecture hyper-parameter of `RealNVP`, declared once.

Each field of `ModelConfig` carries its type, default, valid range and help
text (`hyperparameter`). Everything else reads them from here: `RealNVP`'s
constructor and `get_config`, `TrainConfig` and the presets (which nest a
`ModelConfig`), the command line (one flag per field, with the field's help
text) and the tuner's search space (which names fields). Adding a
hyper-parameter is one field here plus its use in the model.

The image shape and the number of classes are not hyper-parameters: they
come from the data (`RealNVP`'s `image_shape` and `num_classes`).
"""

import dataclasses
import math
import numbers

#: Search kinds of `hyperparameter` ("range" fields are searched over an
#: inclusive (min, max) interval of ints, "choice" fields over a list of
#: candidates).
SEARCH_KINDS = ("range", "choice")


@dataclasses.dataclass(frozen=True)
class Interval:
  """A set of valid values of a numeric hyper-parameter.

  Attributes:
    low: the smallest value (None: unbounded below).
    high: the largest value (None: unbounded above).
    low_open: whether `low` itself is excluded.
    high_open: whether `high` itself is excluded.
  """
  low: float | None = None
  high: float | None = None
  low_open: bool = False
  high_open: bool = False

  def __contains__(self, value):
    if not math.isfinite(value):
      return False
    if self.low is not None and (value < self.low or
                                 (self.low_open and value == self.low)):
      return False
    return self.high is None or not (value > self.high or
                                     (self.high_open and value == self.high))

  def __str__(self):
    low = "-inf" if self.low is None else f"{self.low:g}"
    high = "inf" if self.high is None else f"{self.high:g}"
    opening = "(" if self.low_open or self.low is None else "["
    closing = ")" if self.high_open or self.high is None else "]"
    return f"{opening}{low}, {high}{closing}"


@dataclasses.dataclass(frozen=True)
class Choices:
  """The valid values of a hyper-parameter that names one of a few options.

  Attributes:
    values: tuple of the valid values (str), the first being the paper's.
  """
  values: tuple

  def __contains__(self, value):
    return value in self.values

  def __str__(self):
    return "{" + ", ".join(self.values) + "}"


def hyperparameter(default, help, valid=None, search=None):  # pylint: disable=redefined-builtin
  """A `ModelConfig` field: its default and, as metadata, help text, valid values and search kind.

  Args:
    default: the default value (its type is the field's annotation).
    help: one line for `--help` and the documentation.
    valid: an `Interval` of valid values, `Choices` (str fields), or None
      (booleans).
    search: how the tuner searches the field when asked to, one of
      `SEARCH_KINDS`, or None for "choice" (a list of candidates).

  Returns:
    A `dataclasses.field` with `default` and metadata keys "help", "valid"
    and "search".

  Raises:
    ValueError: for a search kind not in `SEARCH_KINDS`.
  """
  if search is not None and search not in SEARCH_KINDS:
    raise ValueError(f"search must be one of {SEARCH_KINDS}; got {search!r}.")
  return dataclasses.field(default=default, metadata={
      "help": help, "valid": valid, "search": search or "choice"})


def option(default, help, choices=None, default_factory=None,  # pylint: disable=redefined-builtin
           identifies_run=True):
  """A field of a job's configuration (`RunConfig`, `TrainConfig`, `TuneConfig`) with its help text.

  The command line makes one flag of each such field, with this help text
  and these choices.

  Args:
    default: the default value (ignored with `default_factory`).
    help: one line for `--help` and the documentation.
    choices: the valid values, or None for any value of the field's type.
    default_factory: a function of no arguments giving the default, for
      mutable defaults (dicts), or None.
    identifies_run: whether the field is part of what a run directory
      belongs to (`RunConfig.identity`): False for where files are read or
      written, how the same computation is carried out (strategy, XLA,
      verbosity) and the step sizes a resumed run may lower (learning rate,
      gradient clip norm).

  Returns:
    A `dataclasses.field` with metadata keys "help", "choices" and
    "identifies_run".
  """
  metadata = {"help": help, "choices": choices,
              "identifies_run": identifies_run}
  if default_factory is not None:
    return dataclasses.field(default_factory=default_factory,
                             metadata=metadata)
  return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """The architecture of a Real NVP (paper sec. 3.6 and 4.1), one field per hyper-parameter.

  Defaults are `make demo`'s measured configuration (the mnist_bundled
  preset). Values are checked on construction; `dataclasses.replace(config,
  filters=64)` makes a checked copy.

  Attributes:
    num_scales: int >= 1, scales of the multi-scale architecture; H and W
      must be divisible by 2^(num_scales - 1) (checked against the image
      shape by the model).
    num_coupling_layers: int >= 1, couplings per half-scale (paper: 3); the
      last scale has one more.
    num_res_blocks: int >= 0, residual blocks per s/t network (paper: 8 for
      CIFAR-10, 4 for 32x32 ImageNet, 2 for 64x64 images).
    filters: int >= 1, feature maps of the s/t networks (paper: 32; 64 for
      CIFAR-10).
    normalization: what follows every coupling: "batch_norm" (paper sec.
      3.7: batch statistics in training, running averages otherwise),
      "actnorm" (Glow sec. 3.1: a per-channel scale and bias, initialized
      from the first training batch to give zero mean and unit variance,
      then trained) or "none". Configurations of version 0.2.0 and earlier
      said `batch_norm=True` or `False` (`LEGACY_FIELDS`).
    batch_norm_momentum: float in [0, 1), momentum of the running averages
      (0.9: they follow the weights within ~10 steps, so held-out figures
      early in training are not distorted by stale statistics).
    alpha: float in (0, 0.5), margin of the logit transform
      logit(alpha + (1 - 2 alpha) x / 256) (official code: 0.05).
    l2_regularization: float >= 0, coefficient of the L2 penalty on the
      scale parameters (every weight-normalization gain and tanh scale;
      paper sec. 4.1: 5e-5), on the official code's scale: c * sum(g^2) is
      added to the negative log-likelihood in nats per image (the bits/dim
      loss gets it divided by D ln 2).
    coupling: "affine" (Real NVP's y2 = x2 * exp(s(x1)) + t(x1), paper eq.
      4) or "additive" (NICE's y2 = x2 + t(x1), Dinh et al. 2015 eq. 7:
      volume-preserving, log-determinant 0).
    invertible_1x1_conv: whether every coupling is preceded by a learned
      invertible 1x1 convolution mixing the channels (Glow, Kingma &
      Dhariwal 2018 sec. 3.2; LU-parameterized).
    dequantization: "uniform" (the paper's U[0, 1) noise) or "variational"
      (Flow++, Ho et al. 2019 sec. 3.1: the noise is drawn from a flow
      q(u | x) trained with the model; `tfp_realnvp.dequantization`).
    dequantization_coupling_layers: int >= 1, affine couplings of the
      variational dequantization's flow q.
    dequantization_filters: int >= 1, feature maps of q's s/t networks.
    dequantization_res_blocks: int >= 0, residual blocks of q's s/t
      networks.
    condition_depth: int >= 0, layers of the conditioning network of a
      model with a condition (`tfp_realnvp.layers.ConditioningNetwork`:
      dense layers for a vector condition, 3x3 convolutions per resolution
      for an image one; 0 feeds the condition itself to the couplings).
    condition_filters: int >= 1, units or feature maps of those layers.

  Raises:
    ValueError: a value of the wrong type or outside its valid range, naming
      the field, the range and the value.
  """
  num_scales: int = hyperparameter(
      3, "scales of the multi-scale architecture (paper sec. 3.6); H and W "
      "must be divisible by 2^(num_scales - 1)", Interval(1), "range")
  num_coupling_layers: int = hyperparameter(
      3, "couplings per half-scale (paper: 3); the last scale has one more",
      Interval(1), "range")
  num_res_blocks: int = hyperparameter(
      2, "residual blocks per s/t network (paper: 8 for CIFAR-10, 4 for "
      "32x32, 2 for 64x64)", Interval(0), "range")
  filters: int = hyperparameter(
      32, "feature maps of the s/t networks (paper: 32; 64 for CIFAR-10)",
      Interval(1), "choice")
  normalization: str = hyperparameter(
      "batch_norm", "after every coupling: batch_norm (running averages, "
      "paper sec. 3.7), actnorm (Glow sec. 3.1) or none",
      Choices(("batch_norm", "actnorm", "none")))
  batch_norm_momentum: float = hyperparameter(
      0.9, "momentum of batch normalization's running averages",
      Interval(0.0, 1.0, high_open=True))
  alpha: float = hyperparameter(
      0.05, "margin of the logit transform logit(alpha + (1 - 2 alpha) x / "
      "256) (official code: 0.05)",
      Interval(0.0, 0.5, low_open=True, high_open=True))
  l2_regularization: float = hyperparameter(
      0.0, "L2 coefficient on the scale parameters, per image in nats "
      "(paper: 5e-5)", Interval(0.0))
  coupling: str = hyperparameter(
      "affine", "coupling law: affine (Real NVP, paper eq. 4) or additive "
      "(NICE, log-determinant 0)", Choices(("affine", "additive")))
  invertible_1x1_conv: bool = hyperparameter(
      False, "a learned invertible 1x1 convolution before every coupling "
      "(Glow sec. 3.2)")
  dequantization: str = hyperparameter(
      "uniform", "noise added to integer pixels: uniform (the paper's) or "
      "variational (a flow q(u | x), Flow++ sec. 3.1)",
      Choices(("uniform", "variational")))
  dequantization_coupling_layers: int = hyperparameter(
      2, "affine couplings of the variational dequantization's flow",
      Interval(1), "range")
  dequantization_filters: int = hyperparameter(
      32, "feature maps of the variational dequantization's s/t networks",
      Interval(1), "choice")
  dequantization_res_blocks: int = hyperparameter(
      1, "residual blocks of the variational dequantization's s/t networks",
      Interval(0), "range")
  condition_depth: int = hyperparameter(
      2, "layers of the conditioning network that turns a condition into "
      "features for every coupling (Ardizzone et al. 2019)", Interval(0),
      "range")
  condition_filters: int = hyperparameter(
      32, "units or feature maps of the conditioning network's layers",
      Interval(1), "choice")

  def __post_init__(self):
    for field in dataclasses.fields(self):
      object.__setattr__(self, field.name,
                         _checked(field, getattr(self, field.name)))

  @classmethod
  def field_names(cls):
    """The hyper-parameter names, in declaration order.

    Returns:
      tuple of str.
    """
    return tuple(field.name for field in dataclasses.fields(cls))

  @classmethod
  def split_kwargs(cls, kwargs):
    """Separates hyper-parameters from other keyword arguments.

    Args:
      kwargs: dict of keyword arguments, e.g. those of `RealNVP(...)` or a
        flat `get_config()` dict.

    Returns:
      (hyperparameters, rest): two new dicts; the first holds the entries
      named like `ModelConfig` fields, the second the others.
    """
    kwargs = cls.upgraded(kwargs)
    names = set(cls.field_names())
    return ({key: value for key, value in kwargs.items() if key in names},
            {key: value for key, value in kwargs.items() if key not in names})

  @staticmethod
  def upgraded(fields):
    """`fields` with the names of earlier versions replaced by today's (`LEGACY_FIELDS`).

    Args:
      fields: dict of field name -> value, e.g. a `get_config()` dict or a
        run.json's model configuration of an earlier version.

    Returns:
      A new dict: `batch_norm=True`/`False` becomes
      `normalization="batch_norm"`/`"none"`; other entries are kept.

    Raises:
      ValueError: a legacy field together with the field that replaced it,
        or a legacy value that has no translation (naming both).
    """
    fields = dict(fields)
    for legacy, (name, translation) in LEGACY_FIELDS.items():
      if legacy not in fields:
        continue
      if name in fields:
        raise ValueError(f"{legacy} and {name} are the same setting (version "
                         f"0.2.0 called it {legacy}); give {name} alone.")
      value = fields.pop(legacy)
      if str(value) not in translation:
        raise ValueError(f"{legacy} must be True or False; got {value!r}.")
      fields[name] = translation[str(value)]
    return fields

  def to_dict(self):
    """The fields as a JSON-serializable dict (field name -> value).

    Returns:
      dict; `ModelConfig(**config.to_dict()) == config`.
    """
    return dataclasses.asdict(self)


#: Fields of earlier versions, each legacy name mapped to today's field and
#: a table from str(legacy value) to today's value; read by
#: `ModelConfig.upgraded`.
LEGACY_FIELDS = {
    "batch_norm": ("normalization", {"True": "batch_norm", "1": "batch_norm",
                                     "False": "none", "0": "none"}),
}


def _checked(field, value):
  """`value` as the field's type, after the type and range checks (numpy scalars are accepted)."""
  if field.type is bool:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
      value = int(value)  # 0 and 1, also as numpy ints.
    if isinstance(value, str) or str(value) not in ("True", "False", "0", "1"):
      raise ValueError(f"{field.name} must be True or False; got {value!r}.")
    return str(value) in ("True", "1")
  if field.type is str:
    valid = field.metadata["valid"]
    if not isinstance(value, str) or value not in valid:
      raise ValueError(f"{field.name} must be one of {valid}; got {value!r}.")
    return value
  wants_int = field.type is int
  if isinstance(value, (bool, str)) or not isinstance(value, numbers.Real) or (
      str(value) in ("True", "False")) or (wants_int and int(value) != value):
    raise ValueError(f"{field.name} must be "
                     f"{'an int' if wants_int else 'a float'}; got {value!r}.")
  value = int(value) if wants_int else float(value)
  valid = field.metadata["valid"]
  if valid is not None and value not in valid:
    raise ValueError(f"{field.name} must be in {valid}; got {value!r}.")
  return value
