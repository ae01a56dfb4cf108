"""Mixed precision: Keras dtype policies for the s/t networks' computation.

Under a mixed policy the s/t networks compute in 16 bits while pixels,
log-determinants, the prior and the loss stay float32 (`RealNVP` does not
autocast its inputs). mixed_float16 also gets Keras's loss scaling.
"""

import contextlib

import keras

#: Values of `TrainConfig.mixed_precision`; "" is float32, the others are Keras policies.
MIXED_PRECISION_POLICIES = ("", "mixed_float16", "mixed_bfloat16")


@contextlib.contextmanager
def dtype_policy(name):
  """Keras's global dtype policy set to `name` (e.g. "mixed_bfloat16") inside the block only.

  Args:
    name: a Keras dtype policy name: "float32", "mixed_float16",
      "mixed_bfloat16" or another float dtype's name.

  Yields:
    None; layers created inside the block take the policy. The previous
    policy is restored on leaving it, also after an exception.

  Raises:
    ValueError: from Keras, for a name that is not a policy.
  """
  previous = keras.config.dtype_policy()
  keras.config.set_dtype_policy(name)
  try:
    yield
  finally:
    keras.config.set_dtype_policy(previous)
