"""Training step against its floor and against tfb.Glow, serving throughput, and peak memory, in one run.

`make bench` runs this. For each image shape (MNIST-like 28x28x1 and
CIFAR-like 32x32x3) and a fixed batch, after warm-up, as the median of
repeats, it measures:
  1. `realnvp`: one Keras training step of `tfp_realnvp.RealNVP` at make
     demo's architecture with the paper's recipe (unconditional): the
     `train_function` that `fit` runs, dequantization included;
     `realnvp_later`: the same with make demo's components after the paper
     (issue 17: its variational dequantization; `COMPONENT_FIELDS`),
     against its own floor `floor_later`;
  2. `floor`: the same s/t networks, forward and backward (to their
     parameters and, as in the flow, to their inputs) and an Adam update, on
     tensors of the shapes they see in the flow, one after another as in
     the flow, without the flow's bookkeeping (masks, exp, log-determinants,
     batch norm, squeezes, prior); `floor_parallel`: the same with the
     networks independent of each other, so that two can run at once, which
     no flow can do (the floor of earlier versions of this script);
  3. `glow`: a training step of TFP's `tfb.Glow` with the same number of
     couplings and about the same number of parameters;
  (and `realnvp_bfloat16`: step 1 under Keras's mixed_bfloat16 policy; not
     part of the ratios, which compare float32 steps);
  4. `serving`: log_prob and sample throughput of the Keras model (in a
     tf.function) and of its SavedModel;
  5. `matmul`: the GFLOP/s of a large float32 matrix product, the
     friendliest work for this machine's TensorFlow, to read the steps'
     rates against;
  6. `policies` (MNIST only): make demo's model (the mnist_bundled preset)
     trained by `fit` on the bundled digits under each dtype policy: seconds
     per epoch, the policies' epochs in turns, and each policy's isolated
     step. A 16-bit policy is fast only where the hardware has fast 16-bit
     arithmetic (the machine line names the CPU's AVX512_BF16, AVX512_FP16
     and AMX flags); a policy whose step takes longer than SLOW_STEP_SECONDS
     is timed on a few steps and its epoch extrapolated (marked so).
The training steps are timed in turns in one process (this machine's speed
drifts by tens of percent over minutes; turns expose all of them to the same
drift), as are the four serving calls; each step's peak resident memory
(ru_maxrss) is measured in a process of its own. Writes
benchmarks/results.json and benchmarks/results.md (the table, with the
machine's description).

Usage: .venv/bin/python benchmarks/run.py [--repeats 20] [--batch-size 64]
       [--jit-compile] [--shapes mnist cifar]
"""

import argparse
import functools
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = {"mnist": (28, 28, 1), "cifar": (32, 32, 3)}
# make demo's architecture, unconditional: 3 scales, 16 couplings.
ARCHITECTURE = dict(num_scales=3, num_coupling_layers=3, num_res_blocks=2,
                    filters=32)
# The ModelConfig fields of the components after the paper (issue 17); the
# `*_later` steps take make demo's values of them.
COMPONENT_FIELDS = ("dequantization", "dequantization_coupling_layers",
                    "dequantization_filters", "dequantization_res_blocks",
                    "normalization", "invertible_1x1_conv", "coupling")
GLOW_BLOCKS = 2  # 28x28 allows two squeezes; 2 x 8 steps = our 16 couplings.
GLOW_STEPS_PER_BLOCK = 8
# Keras dtype policies timed by the `policies` case, float32 first.
POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
# A policy whose isolated step takes longer is timed on SLOW_POLICY_STEPS
# steps instead of whole epochs (mixed_float16 took 68 s per step on an
# Intel Xeon with AVX512_FP16 and AMX, against float32's 0.32 s).
SLOW_STEP_SECONDS = 5.0
SLOW_POLICY_STEPS = 2
POLICY_EPOCH_ROUNDS = 3
# /proc/cpuinfo flags that decide whether a 16-bit policy is fast on a CPU.
CPU_16_BIT_FLAGS = ("avx512_bf16", "avx512_fp16", "amx_bf16", "amx_fp16")


def peak_rss_mb():
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pixel_batch(shape, batch_size):
  import numpy as np  # pylint: disable=import-outside-toplevel
  rng = np.random.default_rng(0)
  return rng.integers(0, 256, (batch_size, *shape)).astype(np.uint8)


def later_components():
  """The components after the paper (issue 17) that make demo's preset uses: its `ModelConfig` values of COMPONENT_FIELDS."""
  from tfp_realnvp import presets  # pylint: disable=import-outside-toplevel
  config = presets.get("mnist_bundled").model
  return {name: getattr(config, name) for name in COMPONENT_FIELDS}


def build_realnvp(shape, jit_compile, later=False):
  """make demo's architecture, unconditional: the paper's recipe, or with `later` make demo's later components."""
  import tfp_realnvp  # pylint: disable=import-outside-toplevel
  model = tfp_realnvp.RealNVP(shape, **ARCHITECTURE,
                              **(later_components() if later else {}))
  model.compile(jit_compile=jit_compile)
  return model


def gradient_gflop(loss_fn, variables, watched=()):
  """GFLOP of one forward + backward pass of loss_fn, counted on its traced graph.

  The backward pass computes gradients with respect to `variables` and the
  tensors in `watched`.

  TensorFlow's graph profiler counts the floating-point operations of the ops
  that register a cost (convolutions and their gradients, matmuls, most
  element-wise ops); the optimizer update is left out of every step alike.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  @tf.function
  def gradients():
    with tf.GradientTape() as tape:
      tape.watch(list(watched))
      loss = loss_fn()
    return tape.gradient(loss, list(variables) + list(watched))

  options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
  options["output"] = "none"
  graph = gradients.get_concrete_function().graph
  return tf.compat.v1.profiler.profile(graph, options=options).total_float_ops / 1e9


# --- Steps: each builder returns (step function, facts about it). ---


def realnvp_step(shape, batch_size, jit_compile, later=False):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  model = build_realnvp(shape, jit_compile, later)
  model.optimizer.build(model.trainable_variables)
  model.make_train_function()
  iterator = iter(tf.data.Dataset.from_tensors(
      pixel_batch(shape, batch_size)).repeat())
  step = lambda: model.train_function(iterator)["loss"].numpy()
  pixels = tf.constant(pixel_batch(shape, batch_size), tf.float32)
  noise = tf.fill(pixels.shape, 0.5)
  gflop = gradient_gflop(
      lambda: -tf.reduce_mean(model.log_importance_weight(pixels, noise)),
      model.trainable_variables)
  return step, {"num_parameters": model.count_params(), "gflop": gflop}


def realnvp_bfloat16_step(shape, batch_size, jit_compile):
  from tfp_realnvp.precision import dtype_policy  # pylint: disable=import-outside-toplevel
  with dtype_policy("mixed_bfloat16"):
    return realnvp_step(shape, batch_size, jit_compile)


def network_inputs(model, shape, batch_size):
  """Each s/t network (the dequantization's too) with the shapes of its input and conditional input (None: none), in the order a training step calls them."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  calls = []
  networks = model.dequantization_networks + model.coupling_networks
  for network in networks:
    original = network.call

    def recording(inputs, conditional_input=None, network=network,
                  original=original):
      calls.append((network, (batch_size, *inputs.shape[1:]),
                    None if conditional_input is None else
                    (batch_size, *conditional_input.shape[1:])))
      return original(inputs, conditional_input)

    network.call = recording
  try:
    pixels = tf.constant(pixel_batch(shape, 2), tf.float32)
    model.log_importance_weight(pixels, tf.fill(pixels.shape, 0.5))
  finally:
    for network in networks:
      del network.call
  return calls


def floor_step(shape, batch_size, jit_compile, in_sequence=True, later=False):
  """The s/t networks' own forward and backward passes and the Adam update.

  Backward includes each network's gradient with respect to its input, as in
  the flow, where every coupling's input depends on the parameters of the
  couplings before it; only the first coupling's input (data) needs none.

  With `in_sequence` (the `floor`), each network's input also depends on the
  outputs of the one before it (a scalar of them is added to it), so the
  networks run one after another, forward and backward, as in the flow:
  coupling k + 1 cannot start before coupling k is done. Without it (the
  `floor_parallel`), independent networks can run at the same time on
  different cores, which no flow can do. With `later`, the networks of make
  demo's later components (those of a variational dequantization, given
  their spatial conditional input) are in it too.
  """
  import keras  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  model = build_realnvp(shape, jit_compile, later)
  calls = network_inputs(model, shape, batch_size)
  inputs = [tf.random.normal(input_shape, seed=i)
            for i, (_, input_shape, _) in enumerate(calls)]
  conditions = [None if shape_ is None else tf.random.normal(shape_, seed=i)
                for i, (_, _, shape_) in enumerate(calls)]
  networks = [network for network, _, _ in calls]
  variables = [v for network in networks for v in network.trainable_variables]
  optimizer = keras.optimizers.Adam(1e-3, global_clipnorm=100.0)
  optimizer.build(variables)

  def loss():
    total, link = 0.0, 0.0
    for network, x, condition in zip(networks, inputs, conditions):
      log_scale, shift = network(x + link if in_sequence else x, condition)
      output = tf.reduce_mean(shift) + (  # log_scale: None if additive.
          0.0 if log_scale is None else tf.reduce_mean(log_scale))
      link = 1e-3 * output
      total += output
    return total

  @tf.function(jit_compile=jit_compile)
  def step():
    with tf.GradientTape() as tape:
      tape.watch(inputs[1:])
      total = loss()
    gradients = tape.gradient(total, variables + inputs[1:])
    optimizer.apply_gradients(zip(gradients[:len(variables)], variables))
    return total, gradients[len(variables):]

  return (lambda: step()[0].numpy(),
          {"num_parameters": int(sum(math.prod(v.shape) for v in variables)),
           "gflop": gradient_gflop(loss, variables, inputs[1:])})


def build_glow(shape, num_hidden):
  import tensorflow_probability as tfp  # pylint: disable=import-outside-toplevel
  tfb, tfd = tfp.bijectors, tfp.distributions
  glow = tfb.Glow(
      output_shape=shape, num_glow_blocks=GLOW_BLOCKS,
      num_steps_per_block=GLOW_STEPS_PER_BLOCK,
      coupling_bijector_fn=lambda s: tfb.GlowDefaultNetwork(
          s, num_hidden=num_hidden),
      exit_bijector_fn=tfb.GlowDefaultExitNetwork)
  prior = tfd.Sample(tfd.Normal(0.0, 1.0), math.prod(shape))
  return tfd.TransformedDistribution(prior, glow)


def glow_parameters(distribution, shape):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  distribution.log_prob(tf.zeros((1, *shape)))  # Creates the variables.
  return int(sum(math.prod(v.shape) for v in distribution.trainable_variables))


def matched_glow_hidden(shape, target_parameters):
  """num_hidden of GlowDefaultNetwork whose Glow has the parameter count closest to ours."""
  low, high = 8, 512
  while high - low > 1:
    middle = (low + high) // 2
    if glow_parameters(build_glow(shape, middle), shape) < target_parameters:
      low = middle
    else:
      high = middle
  counts = {h: glow_parameters(build_glow(shape, h), shape) for h in (low, high)}
  return min(counts, key=lambda h: abs(counts[h] - target_parameters))


def glow_step(shape, batch_size, jit_compile):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tf_keras  # pylint: disable=import-outside-toplevel
  ours = build_realnvp(shape, False).count_params()
  num_hidden = matched_glow_hidden(shape, ours)
  distribution = build_glow(shape, num_hidden)
  num_parameters = glow_parameters(distribution, shape)
  variables = distribution.trainable_variables
  optimizer = tf_keras.optimizers.Adam(1e-3, global_clipnorm=100.0)
  pixels = tf.constant(pixel_batch(shape, batch_size))

  def loss():
    x = (tf.cast(pixels, tf.float32) + tf.random.uniform(pixels.shape)) / 256.
    return -tf.reduce_mean(distribution.log_prob(x - 0.5))

  @tf.function(jit_compile=jit_compile)
  def step():
    with tf.GradientTape() as tape:
      value = loss()
    gradients = tape.gradient(value, variables)
    optimizer.apply_gradients(zip(gradients, variables))
    return value

  return (lambda: step().numpy(),
          {"num_parameters": num_parameters, "num_hidden": num_hidden,
           "gflop": gradient_gflop(loss, variables)})


STEPS = {"realnvp": realnvp_step, "floor": floor_step,
         "floor_parallel": functools.partial(floor_step, in_sequence=False),
         "glow": glow_step, "realnvp_bfloat16": realnvp_bfloat16_step,
         "realnvp_later": functools.partial(realnvp_step, later=True),
         "floor_later": functools.partial(floor_step, later=True)}
# Steps whose peak memory is measured (the parallel floor's is the floor's).
MEMORY_STEPS = ("realnvp", "floor", "glow", "realnvp_bfloat16",
                "realnvp_later")


def interleaved_medians(functions, repeats, warmup=3):
  """Median seconds of each function, timed in turns (A, B, C, A, B, C, ...).

  This machine's speed drifts by tens of percent over minutes; timing the
  functions in turns exposes them to the same drift, so their ratios hold.
  """
  for fn in functions.values():
    for _ in range(warmup):
      fn()
  times = {name: [] for name in functions}
  for _ in range(repeats):
    for name, fn in functions.items():
      start = time.perf_counter()
      fn()
      times[name].append(time.perf_counter() - start)
  return {name: statistics.median(values) for name, values in times.items()}


# --- Cases: each runs in its own process and returns a dict of figures. ---


def case_timing(shape, batch_size, repeats, jit_compile):
  """The training steps, timed in turns."""
  built = {name: builder(shape, batch_size, jit_compile)
           for name, builder in STEPS.items()}
  medians = interleaved_medians({name: fn for name, (fn, _) in built.items()},
                                repeats)
  return {name: {"step_seconds": medians[name], **facts}
          for name, (_, facts) in built.items()}


def memory_case(name):
  """A case that runs one training step a few times, for its peak memory."""
  def case(shape, batch_size, repeats, jit_compile):
    del repeats
    step, facts = STEPS[name](shape, batch_size, jit_compile)
    for _ in range(3):
      step()
    return facts
  return case


def case_serving(shape, batch_size, repeats, jit_compile):
  """log_prob and sample of the Keras model and of its SavedModel, timed in turns."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from serving_throughput import serving_calls  # pylint: disable=import-outside-toplevel
  from tfp_realnvp.export import export_saved_model  # pylint: disable=import-outside-toplevel
  model = build_realnvp(shape, jit_compile)
  with tempfile.TemporaryDirectory() as directory:
    loaded = tf.saved_model.load(export_saved_model(model, directory, "m"))
    calls = serving_calls(model, loaded, batch_size)
    medians = interleaved_medians(
        {name: calls[call] for name, call in SERVING_CALLS.items()}, repeats)
  return {f"{name}_images_per_second": batch_size / seconds
          for name, seconds in medians.items()}


def case_startup(shape, batch_size, repeats, jit_compile):
  """`fit` from a fresh model: seconds to the first step's end (tracing and
  graph optimization included) and how many times `train_step` was traced."""
  del repeats
  import keras  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  model = build_realnvp(shape, jit_compile)
  traces = []
  train_step = model.train_step
  model.train_step = lambda data: (traces.append(1), train_step(data))[1]
  ends = []
  start = time.perf_counter()
  model.fit(tf.data.Dataset.from_tensors(pixel_batch(shape, batch_size)).repeat(4),
            epochs=1, verbose=0, callbacks=[keras.callbacks.LambdaCallback(
                on_train_batch_end=lambda batch, logs: ends.append(
                    time.perf_counter()))])
  return {"first_step_seconds": ends[0] - start, "train_step_traces": len(traces)}


def case_input_pipeline(shape, batch_size, repeats, jit_compile):
  """Images/s of the bundled MNIST training pipeline alone (cached,
  shuffled, batched, prefetched; the model dequantizes), over whole epochs
  after a warm-up epoch that fills the cache."""
  del jit_compile
  from tfp_realnvp import data  # pylint: disable=import-outside-toplevel
  if tuple(shape) != data.spec("mnist_bundled").image_shape:
    return {}
  dataset = data.pipeline("mnist_bundled", "train", batch_size, training=True)
  images_per_second = []
  for epoch in range(1 + max(1, repeats // 4)):
    start, images = time.perf_counter(), 0
    for batch, _ in dataset:
      images += int(batch.shape[0])
    if epoch:  # The first epoch reads the data and fills the cache.
      images_per_second.append(images / (time.perf_counter() - start))
  return {"images_per_second": statistics.median(images_per_second)}


# Our result names -> serving_throughput's call names.
SERVING_CALLS = {"keras_log_prob": "log_prob_keras_graph",
                 "saved_model_log_prob": "log_prob_saved_model",
                 "keras_sample": "sample_keras_graph",
                 "saved_model_sample": "sample_saved_model"}


def case_matmul(shape, batch_size, repeats, jit_compile):
  """GFLOP/s of a 2048 x 2048 float32 matrix product (2 * 2048^3 FLOP)."""
  del shape, batch_size, jit_compile
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  size = 2048
  a = tf.random.normal([size, size], seed=1)
  b = tf.random.normal([size, size], seed=2)
  product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
  seconds = interleaved_medians({"matmul": lambda: product().numpy()},
                                repeats)["matmul"]
  return {"gflop_per_second": 2 * size**3 / seconds / 1e9}


def time_isolated_step(step):
  """Median seconds of `step` over 5 calls after a warm-up one; a single call's if it takes over SLOW_STEP_SECONDS."""
  step()
  start = time.perf_counter()
  step()
  first = time.perf_counter() - start
  if first > SLOW_STEP_SECONDS:
    return first
  return interleaved_medians({"step": step}, 4, warmup=0)["step"]


def epoch_timer():
  """A Keras callback whose `seconds` is the last epoch's and `batch_ends` its batches' end times."""
  import keras  # pylint: disable=import-outside-toplevel

  class EpochTimer(keras.callbacks.Callback):

    def on_epoch_begin(self, epoch, logs=None):
      self.start, self.batch_ends = time.perf_counter(), []

    def on_train_batch_end(self, batch, logs=None):
      self.batch_ends.append(time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
      self.seconds = time.perf_counter() - self.start

  return EpochTimer()


def case_policies(shape, batch_size, repeats, jit_compile):
  """make demo's model under each dtype policy: isolated step and `fit` epochs on the bundled MNIST.

  Each policy's model trains by `fit` for one warm-up epoch (tracing), then
  POLICY_EPOCH_ROUNDS epochs in turns with the other policies' (with
  validation, as make demo's). A policy whose isolated step takes over
  SLOW_STEP_SECONDS instead trains once, for 1 + SLOW_POLICY_STEPS steps:
  its epoch is the median time between batch ends times a full epoch's
  steps, and `extrapolated` is set.
  """
  del repeats
  from tfp_realnvp import data  # pylint: disable=import-outside-toplevel
  from tfp_realnvp.model import RealNVP  # pylint: disable=import-outside-toplevel
  from tfp_realnvp.precision import dtype_policy  # pylint: disable=import-outside-toplevel
  from tfp_realnvp.training import TrainConfig  # pylint: disable=import-outside-toplevel
  config = TrainConfig.from_preset("mnist_bundled", batch_size=batch_size,
                                   jit_compile=jit_compile)
  if tuple(shape) != data.image_shape(config.dataset):
    return {}
  train_data, validation_data = config.fit_pipelines()
  steps = data.steps_per_epoch(train_data)
  runs = {}
  for policy in POLICIES:
    with dtype_policy(policy):
      model = RealNVP(**config.model_kwargs())
      model.compile(optimizer=config.optimizer(steps), jit_compile=jit_compile)
    model.optimizer.build(model.trainable_variables)
    model.make_train_function()
    iterator = iter(train_data.repeat())
    step_seconds = time_isolated_step(
        lambda model=model, iterator=iterator:
        model.train_function(iterator)["loss"].numpy())
    runs[policy] = dict(model=model, timer=epoch_timer(), epochs=[],
                        step_seconds=step_seconds,
                        slow=step_seconds > SLOW_STEP_SECONDS)
  for round_number in range(1 + POLICY_EPOCH_ROUNDS):
    for run in runs.values():
      if run["slow"] and round_number:
        continue
      run["model"].fit(
          train_data.repeat() if run["slow"] else train_data,
          validation_data=None if run["slow"] else validation_data,
          steps_per_epoch=1 + SLOW_POLICY_STEPS if run["slow"] else None,
          initial_epoch=round_number, epochs=round_number + 1, verbose=0,
          callbacks=[run["timer"]])
      ends = run["timer"].batch_ends
      if run["slow"]:
        run["epochs"].append(steps * statistics.median(
            later - earlier for earlier, later in zip(ends, ends[1:])))
      elif round_number:  # The first round traces `fit`'s functions.
        run["epochs"].append(run["timer"].seconds)
  return {policy: {"step_seconds": run["step_seconds"],
                   "epoch_seconds": statistics.median(run["epochs"]),
                   "extrapolated": run["slow"], "steps_per_epoch": steps}
          for policy, run in runs.items()}


CASES = {"timing": case_timing, "policies": case_policies,
         "serving": case_serving,
         "startup": case_startup, "input_pipeline": case_input_pipeline,
         "matmul": case_matmul,
         **{f"memory_{name}": memory_case(name) for name in MEMORY_STEPS}}


# --- Driver. ---


def run_case(case, shape_name, args):
  """Runs one case in a fresh interpreter; returns its figures and peak memory."""
  command = [sys.executable, os.path.abspath(__file__), "--case", case,
             "--shapes", shape_name, "--batch-size", str(args.batch_size),
             "--repeats", str(args.repeats)]
  if args.jit_compile:
    command.append("--jit-compile")
  print(f"{shape_name}: {case} ...", file=sys.stderr, flush=True)
  output = subprocess.run(command, check=True, capture_output=True,
                          text=True).stdout
  return json.loads(output.strip().splitlines()[-1])


def measure_shape(shape_name, args):
  """Timing (in turns) and serving in one process each; each step's peak memory in its own."""
  timing = run_case("timing", shape_name, args)
  del timing["peak_rss_mb"]  # Several models at once: not one step's memory.
  for name in MEMORY_STEPS:
    timing[name]["peak_rss_mb"] = run_case(f"memory_{name}", shape_name,
                                           args)["peak_rss_mb"]
  return {**timing, "serving": run_case("serving", shape_name, args),
          "matmul": run_case("matmul", shape_name, args),
          "startup": run_case("startup", shape_name, args),
          "input_pipeline": run_case("input_pipeline", shape_name, args),
          "policies": policy_figures(run_case("policies", shape_name, args))}


def policy_figures(figures):
  """The `policies` case's figures per policy (its process's peak memory left out: several models)."""
  del figures["peak_rss_mb"]
  return figures


def cpuinfo_value(key):
  """The value of the first `key` line of /proc/cpuinfo, or None where there is none."""
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as file:
      return next(line.split(":", 1)[1].strip() for line in file
                  if line.startswith(key))
  except (OSError, StopIteration):
    return None


def cpu_16_bit_flags():
  """{flag: present} for CPU_16_BIT_FLAGS, from /proc/cpuinfo; {} where it cannot be read."""
  flags = cpuinfo_value("flags")
  if flags is None:
    return {}
  return {flag: flag in flags.split() for flag in CPU_16_BIT_FLAGS}


def machine_description():
  import keras  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  import tensorflow_probability as tfp  # pylint: disable=import-outside-toplevel
  cpu = (cpuinfo_value("model name") or platform.processor()
         or "unknown CPU")
  return {"cpu": cpu, "cpu_flags": cpu_16_bit_flags(), "cores": os.cpu_count(),
          "gpus": len(tf.config.list_physical_devices("GPU")),
          "python": platform.python_version(),
          "tensorflow": tf.__version__, "keras": keras.__version__,
          "tensorflow_probability": tfp.__version__}


def summarize(results):
  """Adds the ratios the performance targets are stated in."""
  for shape_results in results["shapes"].values():
    seconds = {name: shape_results[name]["step_seconds"] for name in STEPS}
    serving = shape_results["serving"]
    shape_results["train_step_over_floor"] = (
        seconds["realnvp"] / seconds["floor"])
    shape_results["train_step_over_parallel_floor"] = (
        seconds["realnvp"] / seconds["floor_parallel"])
    shape_results["later_train_step_over_floor"] = (
        seconds["realnvp_later"] / seconds["floor_later"])
    shape_results["later_over_paper_step"] = (
        seconds["realnvp_later"] / seconds["realnvp"])
    shape_results["speedup_vs_tfp_glow"] = seconds["glow"] / seconds["realnvp"]
    shape_results["saved_model_over_keras_log_prob"] = (
        serving["saved_model_log_prob_images_per_second"] /
        serving["keras_log_prob_images_per_second"])
    shape_results["saved_model_over_keras_sample"] = (
        serving["saved_model_sample_images_per_second"] /
        serving["keras_sample_images_per_second"])
    peak = shape_results["matmul"]["gflop_per_second"]
    for name in STEPS:
      step = shape_results[name]
      step["gflop_per_second"] = step["gflop"] / step["step_seconds"]
      step["fraction_of_matmul_rate"] = step["gflop_per_second"] / peak
    shape_results["mixed_bfloat16_speedup"] = (
        seconds["realnvp"] / seconds["realnvp_bfloat16"])
    policies = shape_results["policies"]
    for policy in policies.values():
      policy["step_speedup"] = (policies["float32"]["step_seconds"]
                                / policy["step_seconds"])
      policy["epoch_speedup"] = (policies["float32"]["epoch_seconds"]
                                 / policy["epoch_seconds"])
    pipeline = shape_results["input_pipeline"]
    if "images_per_second" in pipeline:
      shape_results["input_pipeline_over_train_step"] = (
          pipeline["images_per_second"] * seconds["realnvp"]
          / results["batch_size"])
  return results


def _ms(step):
  return f"{1e3 * step['step_seconds']:.0f}"


def table(results):
  """The results as Markdown: the machine, then two tables."""
  machine = results["machine"]
  flags = ", ".join(f"{flag} {'yes' if present else 'no'}"
                    for flag, present in machine.get("cpu_flags", {}).items())
  lines = [
      f"Machine: {machine['cpu']} ({flags or 'CPU flags unknown'}), "
      f"{machine['cores']} cores, "
      f"{machine['gpus']} GPUs; Python {machine['python']}, TensorFlow "
      f"{machine['tensorflow']}, Keras {machine['keras']}, TFP "
      f"{machine['tensorflow_probability']}. Batch {results['batch_size']}, "
      f"median of {results['repeats']} after warm-up; jit_compile "
      f"{results['jit_compile']}.", "",
      "The floor runs the model's s/t networks one after another, as the "
      "flow does; the parallel floor lets independent networks overlap.", "",
      "| shape | RealNVP step (ms) | floor (ms) | train_step_over_floor | "
      "parallel floor (ms) | over parallel floor | tfb.Glow step (ms) | "
      "speedup_vs_tfp_glow | parameters (ours / Glow) | "
      "log_prob img/s (Keras / SavedModel) | sample img/s (Keras / SavedModel) "
      "| peak MB (ours / floor / Glow / serving) |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|"]
  for name, r in results["shapes"].items():
    s = r["serving"]
    lines.append(
        f"| {name} {tuple(SHAPES[name])} | {_ms(r['realnvp'])} "
        f"| {_ms(r['floor'])} | {r['train_step_over_floor']:.2f} | "
        f"{_ms(r['floor_parallel'])} | "
        f"{r['train_step_over_parallel_floor']:.2f} | {_ms(r['glow'])} | "
        f"{r['speedup_vs_tfp_glow']:.2f} | "
        f"{r['realnvp']['num_parameters']:,} / {r['glow']['num_parameters']:,} | "
        f"{s['keras_log_prob_images_per_second']:.0f} / "
        f"{s['saved_model_log_prob_images_per_second']:.0f} | "
        f"{s['keras_sample_images_per_second']:.0f} / "
        f"{s['saved_model_sample_images_per_second']:.0f} | "
        f"{r['realnvp']['peak_rss_mb']:.0f} / {r['floor']['peak_rss_mb']:.0f} / "
        f"{r['glow']['peak_rss_mb']:.0f} / {s['peak_rss_mb']:.0f} |")
  lines += [
      "", "make demo's components after the paper ("
      + ", ".join(f"{k}={v}" for k, v in later_components().items())
      + "), unconditional: their training step against their own floor (the "
      "same networks, the dequantization's included, one after another).",
      "", "| shape | step (ms) | floor (ms) | later_train_step_over_floor | "
      "step over the paper's step | parameters | peak MB |",
      "|---|---|---|---|---|---|---|"]
  for name, r in results["shapes"].items():
    lines.append(
        f"| {name} | {_ms(r['realnvp_later'])} | {_ms(r['floor_later'])} | "
        f"{r['later_train_step_over_floor']:.2f} | "
        f"{r['later_over_paper_step']:.2f} | "
        f"{r['realnvp_later']['num_parameters']:,} | "
        f"{r['realnvp_later']['peak_rss_mb']:.0f} |")
  lines += [
      "", "Where the time goes: GFLOP of one forward + backward pass (counted "
      "on the traced graph), the rate each step achieves and that rate as a "
      "fraction of a 2048^2 matrix product's (the friendliest work for "
      "this machine's TensorFlow); `fit`'s start-up (tracing and graph optimization) "
      "and its train_step traces; the bundled MNIST input pipeline's "
      "images/s as a multiple of the train step's (> 1: it does not starve "
      "the step).", "",
      "| shape | GFLOP/step (ours / floor / Glow) | GFLOP/s (ours / floor / "
      "Glow) | matmul GFLOP/s: fraction reached | first fit step (s) | "
      "train_step traces | input pipeline (x train step) | mixed_bfloat16 "
      "step (ms, speedup) |",
      "|---|---|---|---|---|---|---|---|"]
  compared = ("realnvp", "floor", "glow")
  for name, r in results["shapes"].items():
    pipeline = r.get("input_pipeline_over_train_step")
    lines.append(
        f"| {name} | "
        + " / ".join(f"{r[s]['gflop']:.1f}" for s in compared) + " | "
        + " / ".join(f"{r[s]['gflop_per_second']:.0f}" for s in compared)
        + f" | {r['matmul']['gflop_per_second']:.0f}: "
        + " / ".join(f"{r[s]['fraction_of_matmul_rate']:.2f}" for s in compared)
        + f" | {r['startup']['first_step_seconds']:.1f} | "
        f"{r['startup']['train_step_traces']} | "
        + (f"{pipeline:.0f}" if pipeline else "no bundled data") + " | "
        f"{_ms(r['realnvp_bfloat16'])} "
        f"({r['mixed_bfloat16_speedup']:.2f}) |")
  policy_rows = [(name, policy) for name, r in results["shapes"].items()
                 for policy in r["policies"].items()]
  if policy_rows:
    lines += [
        "", "make demo's model (the mnist_bundled preset, conditional) under "
        "each Keras dtype policy: the isolated train step and `fit`'s epoch "
        "on the bundled digits (validation included; epochs of the policies "
        "in turns), with their speed-ups over float32 (< 1: slower).", "",
        "| shape | policy | step (ms) | step speed-up | fit epoch (s) | "
        "epoch speed-up |", "|---|---|---|---|---|---|"]
    for name, (policy, p) in policy_rows:
      mark = (f" (extrapolated from {SLOW_POLICY_STEPS} steps)"
              if p["extrapolated"] else "")
      lines.append(
          f"| {name} | {policy} | {_ms(p)} | {p['step_speedup']:.3g} | "
          f"{p['epoch_seconds']:.1f}{mark} | {p['epoch_speedup']:.3g} |")
  return "\n".join(lines) + "\n"


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--shapes", nargs="+", choices=tuple(SHAPES),
                      default=list(SHAPES))
  parser.add_argument("--batch-size", type=int, default=64)
  parser.add_argument("--repeats", type=int, default=20)
  parser.add_argument("--jit-compile", action="store_true",
                      help="XLA-compile the training steps")
  parser.add_argument("--case", choices=tuple(CASES), default=None,
                      help="run one case here (used by the driver)")
  parser.add_argument("--steps", nargs="+", choices=tuple(STEPS),
                      help="with --case timing: time only these steps")
  parser.add_argument("--output", default=os.path.join(HERE, "results"),
                      help="path of results.json / results.md without suffix")
  args = parser.parse_args()
  if args.case:
    for name in set(STEPS) - set(args.steps or STEPS):
      del STEPS[name]
    figures = CASES[args.case](SHAPES[args.shapes[0]], args.batch_size,
                               args.repeats, args.jit_compile)
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))
    return
  results = {"machine": machine_description(), "batch_size": args.batch_size,
             "repeats": args.repeats, "jit_compile": args.jit_compile,
             "shapes": {name: measure_shape(name, args)
                        for name in args.shapes}}
  with open(args.output + ".json", "w", encoding="utf-8") as file:
    json.dump(results, file, indent=2)  # Kept should a summary fail.
  summarize(results)
  with open(args.output + ".json", "w", encoding="utf-8") as file:
    json.dump(results, file, indent=2)
  with open(args.output + ".md", "w", encoding="utf-8") as file:
    file.write(table(results))
  print(table(results))


if __name__ == "__main__":
  main()
