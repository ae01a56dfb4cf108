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

from tfp_realnvp import data
from tfp_realnvp.model import official_gradient_clip_norm

#: L2 coefficient on the scale parameters, per image in nats (paper sec. 4.1;
#: official code: l2_coeff).
PAPER_L2 = 5e-5


@dataclasses.dataclass(frozen=True)
class Preset:
  """One named configuration; its fields are `tfp_realnvp.training.TrainConfig` fields.

  Attributes:
    dataset: the data set it was made for (`tfp_realnvp.data.DATASETS`).
    source: where each value comes from.
    conditional: whether the model is class-conditional.
    epochs, batch_size: training length and examples per batch.
    num_scales, num_coupling_layers, num_res_blocks, filters: architecture
      (`tfp_realnvp.RealNVP` arguments).
    learning_rate: Adam's (peak) step size.
    lr_schedule: "constant" or "cosine" (decay to 0 over all steps).
    l2_regularization: L2 coefficient on the scale parameters, per image in
      nats (`RealNVP`'s argument).
    gradient_clip_norm: largest global gradient norm of the bits/dim loss;
      None for the official code's clipping, 100 / (D ln 2).
  """
  dataset: str
  source: str
  num_scales: int
  num_res_blocks: int
  filters: int
  epochs: int
  conditional: bool = False
  batch_size: int = 64
  num_coupling_layers: int = 3
  learning_rate: float = 1e-3
  lr_schedule: str = "constant"
  l2_regularization: float = PAPER_L2
  gradient_clip_norm: float | None = None

  def train_fields(self):
    """The `TrainConfig` fields this preset sets, as a dict (clipping resolved).

    Returns:
      dict: field name -> value of every field but `source`;
      `gradient_clip_norm` None becomes the official clipping 100 / (D ln 2)
      for the data set's D (`official_gradient_clip_norm`).
    """
    fields = dataclasses.asdict(self)
    del fields["source"]
    if self.gradient_clip_norm is None:
      fields["gradient_clip_norm"] = official_gradient_clip_norm(
          math.prod(data.image_shape(self.dataset)))
    return fields

  def steps_per_epoch(self):
    """Full batches in one pass over the data set's train split.

    Returns:
      int: the train split's size (`DatasetSpec.num_train_examples`) //
      `batch_size`.
    """
    return data.spec(self.dataset).num_train_examples // self.batch_size


#: Preset name -> `Preset`; each preset's `source` names where its values come from.
#:
#: :meta hide-value:
PRESETS = {
    "cifar10": Preset(
        "cifar10", num_scales=2, num_res_blocks=8, filters=64, epochs=100,
        source="paper sec. 4.1: 8 residual blocks, 64 feature maps, one "
               "downscale (2 scales); official: lr 1e-3, clip 100, L2 5e-5; "
               "epochs ours (not stated)"),
    "celeb_a": Preset(
        "celeb_a", num_scales=5, num_res_blocks=2, filters=32, epochs=20,
        source="paper sec. 4.1: 2 residual blocks for 64x64 images, 148x148 "
               "center crop and flips; official README's CelebA command: "
               "n_scale 5, base_dim 32 (it uses residual_blocks 4; we follow "
               "the paper); epochs ours (not stated)"),
    "imagenet32": Preset(
        "imagenet32", num_scales=4, num_res_blocks=4, filters=32, epochs=10,
        source="paper sec. 4.1: 4 residual blocks, 32 feature maps for "
               "32x32; official README's ImageNet 32 command: n_scale 4, "
               "base_dim 32, residual_blocks 4; epochs ours"),
    "imagenet64": Preset(
        "imagenet64", num_scales=5, num_res_blocks=2, filters=32, epochs=10,
        source="paper sec. 4.1: 2 residual blocks for 64x64; n_scale 5, "
               "base_dim 32 as the official README's 64x64 commands; epochs "
               "ours"),
    "mnist": Preset(
        "mnist", num_scales=3, num_res_blocks=2, filters=32, epochs=20,
        source="not in the paper: the mnist_bundled preset's architecture "
               "(found on the bundled digits) with the paper's L2, "
               "unconditional as in the MNIST literature; not measured here "
               "(no network for the full MNIST)"),
    "mnist_bundled": Preset(
        "mnist_bundled", num_scales=3, num_res_blocks=2, filters=32,
        epochs=16, conditional=True, l2_regularization=0.0,
        gradient_clip_norm=100.0,
        source="not in the paper: make demo's configuration, found on the "
               "4500 bundled digits within its 15-minute budget (held-out "
               "1.586 bits/dim; 1.626 with the paper's L2 and a cosine "
               "schedule; README: Results on the bundled MNIST)"),
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
