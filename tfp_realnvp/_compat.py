"""Every use of another library's private API, in one place.

Each entry names the public API that is missing. tests/test_compat.py
checks every entry against the installed TensorFlow, TFP and Keras, so a
release that changes one fails there with a message naming it, not deep
inside a training run. setup.py bounds the versions these were tested with.
"""

import tensorflow as tf
from tensorflow_probability.python.bijectors import chain
from tensorflow_probability.python.bijectors import invert
from tensorflow_probability.python.internal import cache_util

# Missing public API: a base class to test "is this a TFP chain / inversion".
# `tfb.Chain(...)` and `tfb.Invert(...)` return the non-composite-tensor base
# classes `_Chain` and `_Invert` when their members are not composite tensors
# (as ours are not); the public names are subclasses of these.
CHAIN_TYPES = (chain._Chain,)  # pylint: disable=protected-access
INVERT_TYPES = (invert._Invert,)  # pylint: disable=protected-access

# Missing public API: a description of Keras's weights files, whose names
# `loading` reads to check a file against its model. The weights inside a
# `.keras` archive (a zip file), and the top-level groups of a weights file
# that hold training state, not the model (a compiled model's checkpoint has
# its optimizer's variables, which a model loaded for inference has not).
KERAS_WEIGHTS_MEMBER = "model.weights.h5"
KERAS_TRAINING_STATE_GROUPS = ("optimizer",)

# Missing public API: a bijector cache that stores side results (the
# log-determinant) computed with the transform. TFP's own `tfb.FFJORD` uses
# this class for the same purpose.
BijectorCacheWithGreedyAttrs = cache_util.BijectorCacheWithGreedyAttrs


def in_multi_worker_mode(strategy):
  """Whether `strategy` is a `MultiWorkerMirroredStrategy` over more than one worker.

  Missing public API: `MultiWorkerMirroredStrategy` does not say whether its
  cluster has several workers (a one-worker cluster behaves like a local
  strategy); its `extended._in_multi_worker_mode()` does.

  Args:
    strategy: a `tf.distribute.Strategy`.

  Returns:
    bool: True for a multi-worker `MultiWorkerMirroredStrategy`, else False.
  """
  return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
          and strategy.extended._in_multi_worker_mode())  # pylint: disable=protected-access


class BuildWithoutDataBatch:
  """Mixin for a `keras.Model` whose weights are all built in `__init__`.

  Missing public API: Keras's TensorFlow trainer builds a model before `fit`
  / `evaluate` through the private hook `_maybe_symbolic_build`, which takes
  one data batch and reduces it across replicas eagerly;
  MultiWorkerMirroredStrategy rejects that eager reduce
  (keras-team/keras#20585). A model with no compiled loss or metric needs no
  data batch to build: this override only builds the optimizer (Keras's
  private `_symbolic_build`), which also spares the first step's
  `tf.function` a second trace (it retraces when it creates variables).
  """

  def _maybe_symbolic_build(self, iterator=None, data_batch=None):
    del iterator, data_batch
    with self.distribute_strategy.scope():
      self._symbolic_build()


def mark_averaged_weights_in_model(swap_ema_weights):
  """Tells a `keras.callbacks.SwapEMAWeights` that the model holds the averaged weights (and the optimizer the raw ones).

  Missing public API: `SwapEMAWeights(swap_on_epoch=True)` keeps in its
  private `_ema_weights_in_model` whether it swapped the averages into the
  model at an epoch's end; a backup written then and restored in a new
  `fit` has them swapped, which a new callback cannot know otherwise.

  Args:
    swap_ema_weights: a `keras.callbacks.SwapEMAWeights`.
  """
  swap_ema_weights._ema_weights_in_model = True  # pylint: disable=protected-access


def copy_averaged_weights_to_optimizer(swap_ema_weights):
  """Makes a `keras.callbacks.SwapEMAWeights`'s optimizer hold the averages the model holds, as it does after the last epoch.

  Missing public API: `SwapEMAWeights` does this only at the last epoch
  (its private `_finalize_ema_values`); a `fit` stopped earlier would end
  with the raw weights in the model.

  Args:
    swap_ema_weights: a `keras.callbacks.SwapEMAWeights` with the averages
      in its model.
  """
  swap_ema_weights._finalize_ema_values()  # pylint: disable=protected-access
