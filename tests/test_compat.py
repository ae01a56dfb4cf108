"""tfp_realnvp._compat: every private API the package uses still exists and behaves as relied on.

Each failure names the symbol and the library release to look at, so that a
new TensorFlow, TFP or Keras release that changes one is found here.
"""

import inspect
import zipfile

import h5py
import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_realnvp import _compat
from tfp_realnvp.model import RealNVP

tfb = tfp.bijectors


def _hint(symbol, library):
  return (f"{symbol} changed in {library}: update tfp_realnvp/_compat.py "
          f"(and the version bounds in setup.py).")


def test_public_chain_and_invert_are_the_private_base_classes():
  assert isinstance(tfb.Chain([tfb.Exp()]), _compat.CHAIN_TYPES), _hint(
      "tfb.Chain's base class chain._Chain", "tensorflow-probability")
  assert isinstance(tfb.Invert(tfb.Exp()), _compat.INVERT_TYPES), _hint(
      "tfb.Invert's base class invert._Invert", "tensorflow-probability")
  assert not isinstance(tfb.Exp(), _compat.CHAIN_TYPES + _compat.INVERT_TYPES)


def test_greedy_attribute_cache_stores_side_results():
  cache = _compat.BijectorCacheWithGreedyAttrs(
      forward_name="_augmented_forward", inverse_name="_augmented_inverse")
  for method in ("forward_attributes", "inverse_attributes"):
    assert callable(getattr(cache, method, None)), _hint(
        f"cache_util.BijectorCacheWithGreedyAttrs.{method}",
        "tensorflow-probability")


def test_multi_worker_mode_is_readable_from_the_strategy_extended():
  from tensorflow.python.distribute import collective_all_reduce_strategy  # pylint: disable=import-outside-toplevel
  extended = collective_all_reduce_strategy.CollectiveAllReduceExtended
  assert callable(getattr(extended, "_in_multi_worker_mode", None)), _hint(
      "MultiWorkerMirroredStrategy.extended._in_multi_worker_mode",
      "tensorflow")
  assert not _compat.in_multi_worker_mode(tf.distribute.get_strategy())


def test_swap_ema_weights_keeps_its_swap_state_where_compat_sets_it():
  callback = keras.callbacks.SwapEMAWeights(swap_on_epoch=True)
  assert getattr(callback, "_ema_weights_in_model", None) is False, _hint(
      "keras.callbacks.SwapEMAWeights._ema_weights_in_model", "keras")
  _compat.mark_averaged_weights_in_model(callback)
  assert callback._ema_weights_in_model is True  # pylint: disable=protected-access
  assert callable(getattr(callback, "_finalize_ema_values", None)), _hint(
      "keras.callbacks.SwapEMAWeights._finalize_ema_values", "keras")


def test_keras_builds_through_the_hooks_the_mixin_overrides(monkeypatch):
  for name in ("_maybe_symbolic_build", "_symbolic_build"):
    assert callable(getattr(keras.Model, name, None)), _hint(
        f"keras.Model.{name}", "keras")
  parameters = inspect.signature(keras.Model._maybe_symbolic_build).parameters  # pylint: disable=protected-access
  assert list(parameters)[1:] == ["iterator", "data_batch"], _hint(
      "keras.Model._maybe_symbolic_build's arguments", "keras")
  calls = []
  original = _compat.BuildWithoutDataBatch._maybe_symbolic_build  # pylint: disable=protected-access

  def counting(self, iterator=None, data_batch=None):
    calls.append(data_batch)
    return original(self, iterator, data_batch)

  monkeypatch.setattr(_compat.BuildWithoutDataBatch, "_maybe_symbolic_build",
                      counting)
  model = RealNVP((4, 4, 1), num_scales=1, num_coupling_layers=1,
                  num_res_blocks=0, filters=2)
  model.compile()
  images = np.full((4, 4, 4, 1), 100, np.uint8)
  model.fit(images, epochs=1, batch_size=4, verbose=0)
  assert calls, _hint("fit's call of keras.Model._maybe_symbolic_build",
                      "keras")
  assert model.optimizer.built


def test_keras_weights_files_have_the_layout_loading_reads(tmp_path):
  model = RealNVP((4, 4, 1), num_scales=1, num_coupling_layers=1,
                  num_res_blocks=0, filters=2)
  model.compile()
  model.optimizer.build(model.trainable_variables)
  model.save(tmp_path / "model.keras")
  with zipfile.ZipFile(tmp_path / "model.keras") as archive:
    assert _compat.KERAS_WEIGHTS_MEMBER in archive.namelist(), _hint(
        f"{_compat.KERAS_WEIGHTS_MEMBER} inside a .keras archive", "keras")
  model.save_weights(tmp_path / "model.weights.h5")
  with h5py.File(tmp_path / "model.weights.h5", "r") as weights:
    assert set(_compat.KERAS_TRAINING_STATE_GROUPS) <= set(weights), _hint(
        "the optimizer group of a .weights.h5 file", "keras")
