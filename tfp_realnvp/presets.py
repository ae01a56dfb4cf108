"""Named configurations: the paper's and its official code's hyper-parameters per data set.

Sources: Dinh, Sohl-Dickstein, Bengio, "Density estimation using Real NVP"
(ICLR 2017), sec. 4.1 ("paper"); the official TensorFlow code,
tensorflow/models research/real_nvp/real_nvp_multiscale_dataset.py
("official": `get_default_hparams` and its README's commands). Where
neither states a value (epochs, MNIST) the preset's `source` says so.

Common to the presets unless one says otherwise (paper and official): Adam
with learning rate 1e-3; the official gradient-norm clipping, 100 on the
gradient of the nats-per-image loss, i.e. 100 / (D ln 2) on our bits/dim
loss; batch size 64; L2 5e-5 on the scale parameters; 3 couplings per
half-scale (4 at the last scale); batch normalization; logit alpha 0.05.
`mnist_bundled` is `make demo`'s measured configuration: no L2 and clipping
at 100 on the bits/dim loss (which does not trigger).
"""

import dataclasses
import math

from tfp_realnvp import conditions
from tfp_realnvp import data
from tfp_realnvp.config import ModelConfig
from tfp_realnvp.optimization import DEFAULT_LEARNING_RATE
from tfp_realnvp.optimization import NO_WEIGHT_AVERAGING
from tfp_realnvp.optimization import make_optimizer
from tfp_realnvp.optimization import official_gradient_clip_norm

#: L2 coefficient on the scale parameters, per image in nats (paper sec. 4.1;
#: official code: l2_coeff).
PAPER_L2 = 5e-5


@dataclasses.dataclass(frozen=True)
class Preset:
  """One named configuration; its fields are `tfp_realnvp.training.TrainConfig` fields.

  Attributes:
    dataset: the data set it was made for (`tfp_realnvp.data.DATASETS`).
    model: the architecture, a `tfp_realnvp.config.ModelConfig`.
    source: where each value comes from.
    epochs, batch_size: training length and examples per batch.
    conditional: whether the model is class-conditional.
    learning_rate: Adam's (peak) step size.
    lr_schedule: "constant" or "cosine" (decay to 0 over all steps).
    gradient_clip_norm: largest global gradient norm of the bits/dim loss;
      None for the official code's clipping, 100 / (D ln 2).
    ema_momentum: momentum of the weights' moving average (Polyak
      averaging), 0 for none.
    condition: "" or the condition task the model is conditioned on
      (`tfp_realnvp.conditions.parse`).
  """
  dataset: str
  model: ModelConfig
  source: str
  epochs: int
  conditional: bool = False
  batch_size: int = 64
  learning_rate: float = DEFAULT_LEARNING_RATE
  lr_schedule: str = "constant"
  gradient_clip_norm: float | None = None
  ema_momentum: float = NO_WEIGHT_AVERAGING
  condition: str = ""

  def train_fields(self):
    """The `TrainConfig` fields this preset sets, as a dict (clipping resolved).

    Returns:
      dict: field name -> value of every field but `source` (`model` stays
      a `ModelConfig`); `gradient_clip_norm` None becomes the official
      clipping 100 / (D ln 2) for the data set's D
      (`official_gradient_clip_norm`).
    """
    fields = {field.name: getattr(self, field.name)
              for field in dataclasses.fields(self) if field.name != "source"}
    fields["gradient_clip_norm"] = self.resolved_gradient_clip_norm()
    return fields

  def resolved_gradient_clip_norm(self):
    """`gradient_clip_norm`, or the official clipping for the data set when it is None.

    Returns:
      float > 0: the bound on the global gradient norm of the bits/dim loss.
    """
    if self.gradient_clip_norm is not None:
      return self.gradient_clip_norm
    return official_gradient_clip_norm(
        math.prod(data.image_shape(self.dataset)))

  def steps_per_epoch(self):
    """Full batches in one pass over the data set's train split.

    Returns:
      int: the train split's size (`DatasetSpec.num_train_examples`) //
      `batch_size`.
    """
    return data.spec(self.dataset).num_train_examples // self.batch_size

  def model_kwargs(self):
    """`RealNVP` arguments for this preset's data set and architecture.

    Returns:
      dict: `image_shape` (the data set's), `num_classes` (the data set's
      when `conditional`, else None), `config` (`model`) and
      `condition_shape` (the `condition` task's, else None).
    """
    image_shape = data.image_shape(self.dataset)
    task = conditions.optional(self.condition)
    return dict(image_shape=image_shape,
                num_classes=(data.num_classes(self.dataset)
                             if self.conditional else None),
                config=self.model,
                condition_shape=(None if task is None else
                                 task.condition_shape(image_shape)))

  def optimizer(self):
    """Adam with the preset's learning rate, schedule, clipping and weight averaging.

    A cosine schedule spans `epochs` epochs of `steps_per_epoch()` steps.

    Returns:
      A new `keras.optimizers.Adam` (`tfp_realnvp.optimization.make_optimizer`).
    """
    return make_optimizer(self.learning_rate, self.lr_schedule,
                          self.epochs * self.steps_per_epoch(),
                          self.resolved_gradient_clip_norm(), self.ema_momentum)


# make demo's architecture with the paper's recipe (found on the bundled
# digits in version 0.2.0).
_BUNDLED_PAPER = ModelConfig(num_scales=3, num_res_blocks=2, filters=32,
                             l2_regularization=0.0)

#: Preset name -> `Preset`; each preset's `source` names where its values come from.
#:
#: :meta hide-value:
PRESETS = {
    "cifar10": Preset(
        "cifar10", ModelConfig(num_scales=2, num_res_blocks=8, filters=64,
                               l2_regularization=PAPER_L2), epochs=100,
        source="paper sec. 4.1: 8 residual blocks, 64 feature maps, one "
               "downscale (2 scales); official: lr 1e-3, clip 100, L2 5e-5; "
               "epochs ours (not stated)"),
    "celeb_a": Preset(
        "celeb_a", ModelConfig(num_scales=5, num_res_blocks=2, filters=32,
                               l2_regularization=PAPER_L2), epochs=20,
        source="paper sec. 4.1: 2 residual blocks for 64x64 images, 148x148 "
               "center crop and flips; official README's CelebA command: "
               "n_scale 5, base_dim 32 (it uses residual_blocks 4; we follow "
               "the paper); epochs ours (not stated)"),
    "imagenet32": Preset(
        "imagenet32", ModelConfig(num_scales=4, num_res_blocks=4, filters=32,
                                  l2_regularization=PAPER_L2), epochs=10,
        source="paper sec. 4.1: 4 residual blocks, 32 feature maps for "
               "32x32; official README's ImageNet 32 command: n_scale 4, "
               "base_dim 32, residual_blocks 4; epochs ours"),
    "imagenet64": Preset(
        "imagenet64", ModelConfig(num_scales=5, num_res_blocks=2, filters=32,
                                  l2_regularization=PAPER_L2), epochs=10,
        source="paper sec. 4.1: 2 residual blocks for 64x64; n_scale 5, "
               "base_dim 32 as the official README's 64x64 commands; epochs "
               "ours"),
    "mnist": Preset(
        "mnist", ModelConfig(num_scales=3, num_res_blocks=2, filters=32,
                             l2_regularization=PAPER_L2), epochs=20,
        source="not in the paper: the mnist_bundled preset's architecture "
               "(found on the bundled digits) with the paper's L2, "
               "unconditional as in the MNIST literature; not measured here "
               "(no network for the full MNIST)"),
    "mnist_bundled": Preset(
        "mnist_bundled", dataclasses.replace(_BUNDLED_PAPER,
                                             dequantization="variational"),
        epochs=10, conditional=True, batch_size=16, lr_schedule="cosine",
        gradient_clip_norm=100.0, ema_momentum=0.99,
        source="not in the paper: make demo's configuration, found on the "
               "4500 bundled digits within its 15-minute budget: the "
               "mnist_bundled_paper architecture with Flow++'s variational "
               "dequantization, batch 16, a cosine schedule and Polyak "
               "averaging of the weights at momentum 0.99 (README: Results "
               "on the bundled MNIST)"),
    "mnist_bundled_super_resolution": Preset(
        "mnist_bundled", dataclasses.replace(_BUNDLED_PAPER,
                                             dequantization="variational"),
        epochs=10, batch_size=16, lr_schedule="cosine",
        gradient_clip_norm=100.0, ema_momentum=0.99,
        condition="downsampled:4",
        source="not in the paper: mnist_bundled's training with a "
               "conditioning network (Ardizzone et al. 2019) on the digit "
               "average-pooled to 7x7, no class label (README: Conditions)"),
    "mnist_bundled_paper": Preset(
        "mnist_bundled", _BUNDLED_PAPER,
        epochs=16, conditional=True, gradient_clip_norm=100.0,
        source="the paper's recipe (uniform dequantization, batch norm, "
               "affine couplings) at make demo's size of version 0.2.0, "
               "found on the 4500 bundled digits within its 15-minute "
               "budget (held-out 1.586 bits/dim; 1.626 with the paper's L2 "
               "and a cosine schedule; README: Results on the bundled "
               "MNIST)"),
}
#: The preset names (the keys of `PRESETS`).
PRESET_NAMES = tuple(PRESETS)


def get(name):
  """The `Preset` called `name`.

  Args:
    name: one of `PRESET_NAMES`.

  Returns:
    The `Preset` (the entry of `PRESETS`).

  Raises:
    ValueError: for an unknown name, listing the known ones.
  """
  if name not in PRESETS:
    raise ValueError(f"Unknown preset {name!r}; expected one of "
                     f"{PRESET_NAMES}.")
  return PRESETS[name]
