"""Adam, its learning-rate schedules, gradient clipping for the bits/dim loss and weight averaging.

Source: the official code (tensorflow/models research/real_nvp,
`get_default_hparams`): Adam at learning rate 1e-3, gradients clipped to a
global norm of 100 on its nats-per-image loss. Weight averaging (Polyak
averaging: an exponential moving average of the weights, used for
evaluation) is not in the paper; Flow++ (Ho et al. 2019, sec. 4) and Glow's
code evaluate such averages.
"""

import keras
import numpy as np

from tfp_realnvp.units import nats_per_image_to_bits_per_dim

#: Learning-rate schedules `learning_rate_schedule` accepts.
LR_SCHEDULES = ("constant", "cosine")
#: Adam's step size in the official code.
DEFAULT_LEARNING_RATE = 1e-3
#: Global gradient-norm bound of `default_optimizer` (on the bits/dim loss).
DEFAULT_GRADIENT_CLIP_NORM = 100.0
#: Momentum of the weights' moving average when none is kept (averaging off).
NO_WEIGHT_AVERAGING = 0.0
#: The official code's bound on the norm of its nats-per-image gradients.
OFFICIAL_GRADIENT_CLIP_NATS = 100.0


def learning_rate_schedule(learning_rate, schedule="constant", total_steps=None):
  """Adam's learning rate: constant, or cosine decay from `learning_rate` to 0.

  Args:
    learning_rate: float > 0, the (peak) step size.
    schedule: "constant" or "cosine".
    total_steps: optimizer steps of the whole training, for "cosine".

  Returns:
    The float, or a `keras.optimizers.schedules.CosineDecay`.

  Raises:
    ValueError: for an unknown schedule, or "cosine" without total_steps.
  """
  if schedule not in LR_SCHEDULES:
    raise ValueError(f"schedule must be one of {LR_SCHEDULES}; got "
                     f"{schedule!r}.")
  if schedule == "constant":
    return learning_rate
  if not total_steps or total_steps < 1:
    raise ValueError(f"A cosine schedule needs total_steps >= 1; got "
                     f"{total_steps}.")
  return keras.optimizers.schedules.CosineDecay(learning_rate,
                                                decay_steps=int(total_steps))


def default_optimizer(learning_rate=DEFAULT_LEARNING_RATE,
                      gradient_clip_norm=DEFAULT_GRADIENT_CLIP_NORM,
                      ema_momentum=NO_WEIGHT_AVERAGING):
  """Adam with global gradient-norm clipping and, optionally, weight averaging.

  Args:
    learning_rate: float > 0, Adam's step size (official code: 1e-3), or a
      Keras learning-rate schedule (`learning_rate_schedule`).
    gradient_clip_norm: float > 0, the largest global norm of the gradient of
      the loss in bits/dim. The official code clips at 100 the gradient of
      the loss in nats per image, D ln 2 times larger than ours: its
      equivalent here is 100 / (D ln 2) (`official_gradient_clip_norm`).
    ema_momentum: float in [0, 1): 0 for no averaging, else the momentum m
      of Keras's exponential moving average of the trainable weights,
      a <- m * a + (1 - m) * w after every step (`use_ema`). `fit` ends with
      the averages in the model; `tfp_realnvp.callbacks.AveragedWeights`
      also validates and checkpoints them.

  Returns:
    A new `keras.optimizers.Adam`.

  Raises:
    ValueError: for an ema_momentum outside [0, 1).
  """
  check_ema_momentum(ema_momentum)
  return keras.optimizers.Adam(learning_rate=learning_rate,
                               global_clipnorm=gradient_clip_norm,
                               use_ema=ema_momentum != NO_WEIGHT_AVERAGING,
                               ema_momentum=ema_momentum)


def check_ema_momentum(ema_momentum):
  """Raises ValueError unless `ema_momentum` is a float in [0, 1) (0: no weight averaging).

  Args:
    ema_momentum: the momentum to check.

  Raises:
    ValueError: naming the value and the range.
  """
  if not (np.isfinite(ema_momentum) and 0.0 <= ema_momentum < 1.0):
    raise ValueError(f"ema_momentum must be in [0, 1) (0: no weight "
                     f"averaging; e.g. 0.99 averages about the last 100 "
                     f"steps); got {ema_momentum}.")


def make_optimizer(learning_rate, lr_schedule, total_steps, gradient_clip_norm,
                   ema_momentum=NO_WEIGHT_AVERAGING):
  """`default_optimizer` with the learning rate of `learning_rate_schedule`.

  Args:
    learning_rate: float > 0, the (peak) step size.
    lr_schedule: one of `LR_SCHEDULES`.
    total_steps: optimizer steps of the whole training (for "cosine").
    gradient_clip_norm: float > 0, as `default_optimizer`.
    ema_momentum: float in [0, 1), as `default_optimizer`.

  Returns:
    A new `keras.optimizers.Adam`.

  Raises:
    ValueError: as `learning_rate_schedule` and `default_optimizer`.
  """
  return default_optimizer(
      learning_rate_schedule(learning_rate, lr_schedule, total_steps),
      gradient_clip_norm, ema_momentum)


def official_gradient_clip_norm(num_dims):
  """The official code's clipping (norm 100 of nats-per-image gradients) on our bits/dim loss: 100 / (D ln 2).

  The official code (tensorflow/models research/real_nvp,
  `get_default_hparams`: clip_gradient=100) clips the global norm of the
  gradient of its loss in nats per image.

  Args:
    num_dims: D = H * W * C.

  Returns:
    float: 100 / (D ln 2), 0.184 for 28x28x1 and 0.047 for 32x32x3.
  """
  return nats_per_image_to_bits_per_dim(OFFICIAL_GRADIENT_CLIP_NATS, num_dims)
