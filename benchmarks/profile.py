"""Where a training step's time goes: tf.profiler's op statistics, by op type.

Builds one of benchmarks/run.py's steps (`realnvp`, `floor` or `glow`), warms
it up, records a few steps with `tf.profiler.experimental` and prints each op
type's share of the recorded op time (self time, summed over TensorFlow's
threads, so shares rather than wall time; idle time is left out). The trace is
kept in --logdir for TensorBoard's profile plugin.

Usage: .venv/bin/python benchmarks/profile.py realnvp --shape cifar [--steps 5]
"""

import argparse
import collections
import glob
import json
import os
import tempfile

import run  # benchmarks/run.py: the step builders.


def op_self_times(logdir):
  """Self time (microseconds) per op type, summed over the recorded steps."""
  from tensorflow.python.profiler.internal import _pywrap_profiler_plugin  # pylint: disable=import-outside-toplevel
  path = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"),
                          recursive=True))[-1]
  data, _ = _pywrap_profiler_plugin.xspace_to_tools_data(
      [path], "framework_op_stats", {})
  table = json.loads(data)[0]
  columns = [column["label"] for column in table["cols"]]
  op_type = columns.index("Operation Type")
  self_time = columns.index("Total self-time (us)")
  totals = collections.Counter()
  for row in table["rows"]:
    cells = [cell.get("v") if cell else None for cell in row["c"]]
    if cells[op_type] != "IDLE":
      totals[cells[op_type]] += cells[self_time]
  return totals


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("step", choices=tuple(run.STEPS))
  parser.add_argument("--shape", choices=tuple(run.SHAPES), default="cifar")
  parser.add_argument("--batch-size", type=int, default=64)
  parser.add_argument("--steps", type=int, default=5)
  parser.add_argument("--top", type=int, default=15)
  parser.add_argument("--logdir", default=None,
                      help="where the trace goes (default: a new temp dir)")
  args = parser.parse_args()
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  step, _ = run.STEPS[args.step](run.SHAPES[args.shape], args.batch_size,
                                 False)
  for _ in range(3):
    step()
  logdir = args.logdir or tempfile.mkdtemp(prefix=f"profile_{args.step}_")
  tf.profiler.experimental.start(logdir)
  for _ in range(args.steps):
    step()
  tf.profiler.experimental.stop()
  totals = op_self_times(logdir)
  total = sum(totals.values())
  print(f"{args.step} step, {args.shape} {run.SHAPES[args.shape]}, batch "
        f"{args.batch_size}: share of op self time (trace in {logdir})")
  for name, micros in totals.most_common(args.top):
    print(f"  {name:40s} {100 * micros / total:5.1f} %")


if __name__ == "__main__":
  main()
