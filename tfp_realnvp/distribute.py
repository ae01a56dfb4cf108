"""Distribution strategies for training on one device, several GPUs, or several machines."""

import functools
import json
import os

import tensorflow as tf

#: Distribution strategy names `get_strategy` accepts.
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")


def get_strategy(name="auto", devices=None):
  """Returns the `tf.distribute.Strategy` that `name` selects.

  - "auto": `MirroredStrategy` over all GPUs when more than one is visible,
    else the default (single-device) strategy.
  - "default": the default strategy (one device).
  - "mirrored": `MirroredStrategy` over `devices` (default: all GPUs, or the
    CPU when there is none).
  - "multi_worker": `MultiWorkerMirroredStrategy`, configured from the
    TF_CONFIG environment variable, e.g. for two machines
    `{"cluster": {"worker": ["host1:12345", "host2:12345"]},
    "task": {"type": "worker", "index": 0}}` (index 1 on the second). Every
    worker runs the same command; worker 0 is the chief.

  "mirrored" and "multi_worker" give the same strategy object to every call
  with the same arguments in a process (TensorFlow's collective runtime
  cannot serve two mirrored strategies over the same devices).
  Models, optimizers and metrics must be created under `strategy.scope()`.
  The loss is already per-example (`RealNVP.compute_loss`), and batch
  normalization synchronizes its statistics across replicas.

  Args:
    name: one of `STRATEGIES`.
    devices: device names for "mirrored", or None.

  Returns:
    A `tf.distribute.Strategy`.

  Raises:
    ValueError: an unknown name, or "multi_worker" without a TF_CONFIG that
      names a cluster and this task.
  """
  if name not in STRATEGIES:
    raise ValueError(f"strategy must be one of {STRATEGIES}; got {name!r}.")
  if name == "auto":
    gpus = tf.config.list_logical_devices("GPU")
    name = "mirrored" if len(gpus) > 1 else "default"
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    return _mirrored_strategy(None if devices is None else tuple(devices))
  _check_tf_config()
  return _multi_worker_strategy()


# One strategy object per process (and device set): a second MirroredStrategy
# over the same devices numbers its collective ops from the same keys as the
# first, and TensorFlow's collective runtime, which remembers every instance,
# then rejects the new model's all-reduces ("Shape mismatch in the collective
# instance"; tensorflow/tensorflow#62790). Reusing the strategy lets models
# follow one another in a process (notebooks, repeated `train` calls).
@functools.lru_cache(maxsize=None)
def _mirrored_strategy(devices):
  return tf.distribute.MirroredStrategy(None if devices is None
                                        else list(devices))


@functools.lru_cache(maxsize=1)
def _multi_worker_strategy():
  return tf.distribute.MultiWorkerMirroredStrategy()


def _check_tf_config():
  try:
    config = json.loads(os.environ.get("TF_CONFIG", ""))
    config["cluster"]["worker"], config["task"]["index"]  # pylint: disable=pointless-statement
  except (ValueError, KeyError, TypeError) as error:
    raise ValueError(
        "strategy 'multi_worker' needs the TF_CONFIG environment variable, "
        'e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}; got '
        f"{os.environ.get('TF_CONFIG')!r}.") from error


def is_chief(strategy):
  """True on the worker that writes shared outputs (always, off multi-worker).

  TensorFlow's multi-worker convention: the "chief" task, or worker 0 in a
  cluster without one.

  Args:
    strategy: a `tf.distribute.Strategy` (`get_strategy`).

  Returns:
    bool: True without a cluster resolver or with an empty cluster spec, on
    the "chief" task (or a task of no type), and on worker 0 of a cluster
    without a chief; False on every other task.
  """
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.cluster_spec().as_dict():
    return True
  return resolver.task_type in (None, "chief") or (
      resolver.task_type == "worker" and resolver.task_id == 0
      and "chief" not in resolver.cluster_spec().as_dict())


def worker_output_dir(output_dir, strategy):
  """`output_dir` on the chief; `<output_dir>/worker_<i>` on other multi-worker tasks.

  Args:
    output_dir: the job's output directory.
    strategy: the job's `tf.distribute.Strategy`.

  Returns:
    str: `output_dir` where `is_chief(strategy)`, else
    `<output_dir>/worker_<task id>`. Nothing is created.
  """
  if is_chief(strategy):
    return output_dir
  return os.path.join(output_dir,
                      f"worker_{strategy.cluster_resolver.task_id}")
