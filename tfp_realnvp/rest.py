"""TF Serving REST `:predict` bodies: built in the row format ("instances"), answered as TF Serving does."""

import tensorflow as tf


def request_body(signature_name, **inputs):
  """Builds a REST `:predict` body for one of the SavedModel's signatures.

  Each keyword is a signature input given as a batch (a list or array with
  the batch along its first axis); rows are zipped into one instance per
  example, which is why every signature is batch-major.

  Example: `request_body("sample", temperature=[0.8, 0.8], labels=[3, 7])`
  gives `{"signature_name": "sample", "instances": [{"temperature": 0.8,
  "labels": 3}, {"temperature": 0.8, "labels": 7}]}`; a model with a
  condition takes `condition=` (one per row, e.g. [N, 7, 7, 1]) the same
  way.

  Args:
    signature_name: "log_prob", "discrete_log_prob", "sample", "encode",
      "decode" or "serving_default".
    **inputs: input name -> batch (numpy arrays are converted with tolist()).

  Returns:
    A JSON-serializable dict.

  Raises:
    ValueError: no inputs, or inputs with different batch sizes.
  """
  if not inputs:
    raise ValueError("request_body needs at least one input.")
  columns = {name: (value.tolist() if hasattr(value, "tolist") else list(value))
             for name, value in inputs.items()}
  sizes = {name: len(column) for name, column in columns.items()}
  if len(set(sizes.values())) != 1:
    raise ValueError(f"Every input needs the same batch size in the row "
                     f"format; got {sizes}.")
  rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
  return {"signature_name": signature_name, "instances": rows}


def predict(loaded, body):
  """Answers a REST `:predict` body with a loaded SavedModel, the way TF Serving does.

  For trying request bodies without a model server (none can be installed
  from PyPI): the body is decoded as TF Serving's REST API documents it
  (tensorflow/serving, g3doc/api_rest.md, "Predict API"), run through the
  signature, and the outputs are encoded back:

  - row format, `{"instances": [...]}`: one entry per example, an object
    of named inputs (or, for a single-input signature, the bare value);
    the entries are stacked into one batch per input. The answer is
    `{"predictions": [...]}`, one entry per example: an object of named
    outputs, or the bare value when the signature has one output.
  - columnar format, `{"inputs": {...}}`: each named input given as a
    whole batch (or the bare batch for a single-input signature). The
    answer is `{"outputs": {...}}`, or the bare batch for one output.

  JSON numbers are cast to the signature's input dtypes (float32 pixels,
  latents and temperatures; int64 labels). `"signature_name"` defaults to
  "serving_default". Base64 (`{"b64": ...}`) values are not supported (no
  signature here takes strings).

  Args:
    loaded: the result of `tf.saved_model.load(version_dir)`, or any object
      with a `signatures` mapping of concrete functions.
    body: the request, e.g. `json.loads` of the HTTP body: a dict (any
      other JSON value is refused).

  Returns:
    The response as a JSON-serializable dict of nested lists of Python
    numbers.

  Raises:
    ValueError: a body TF Serving would answer with HTTP 400 before running
      the model: a body that is not a JSON object, a `"signature_name"`
      that is not a string or names no signature, neither or both of
      "instances" and "inputs", missing or unknown input names, rows of
      different shapes.
    tf.errors.InvalidArgumentError: the signature refused the values (e.g.
      images of the wrong rank or size, an empty batch, pixels outside
      [0, 256) or all in [0, 1], labels out of range); TF Serving answers
      `{"error": <its message>}`.
  """
  if not isinstance(body, dict):
    raise ValueError(f'The body must be a JSON object, {{"instances": [...]}} '
                     f'or {{"inputs": ...}}; got a {type(body).__name__}.')
  name = body.get("signature_name", "serving_default")
  if not isinstance(name, str):
    raise ValueError(f'"signature_name" must be a string, the name of a '
                     f'signature; got {name!r}.')
  if name not in loaded.signatures:
    raise ValueError(f"Serving signature name {name!r} not found; the model "
                     f"has {sorted(loaded.signatures)}.")
  signature = loaded.signatures[name]
  specs = signature.structured_input_signature[1]
  row_format = "instances" in body
  if row_format == ("inputs" in body):
    raise ValueError('The body needs exactly one of "instances" (row format) '
                     'or "inputs" (columnar format).')
  if row_format:
    columns = _row_columns(body["instances"], specs)
  elif isinstance(body["inputs"], dict):
    columns = body["inputs"]
  else:
    columns = _single_input(body["inputs"], specs)
  missing, unknown = set(specs) - set(columns), set(columns) - set(specs)
  if missing or unknown:
    raise ValueError(f"Signature {name!r} takes inputs {sorted(specs)}; the "
                     f"request lacks {sorted(missing)} and has unknown "
                     f"{sorted(unknown)}.")
  inputs = {}
  for input_name, spec in specs.items():
    try:
      inputs[input_name] = tf.constant(columns[input_name], spec.dtype)
    except (TypeError, ValueError) as error:
      raise ValueError(f"Input {input_name!r} is not a {spec.dtype.name} "
                       f"tensor of one shape: {error}") from error
  outputs = {key: value.numpy() for key, value in signature(**inputs).items()}
  if not row_format:
    if len(outputs) == 1:
      return {"outputs": next(iter(outputs.values())).tolist()}
    return {"outputs": {key: value.tolist() for key, value in outputs.items()}}
  rows = range(len(body["instances"]))
  if len(outputs) == 1:
    (values,) = outputs.values()
    return {"predictions": [values[i].tolist() for i in rows]}
  return {"predictions": [{key: values[i].tolist()
                           for key, values in outputs.items()} for i in rows]}


def _single_input(value, specs):
  if len(specs) != 1:
    raise ValueError(f"Inputs must be named (an object) for a signature with "
                     f"inputs {sorted(specs)}.")
  return {next(iter(specs)): value}


def _row_columns(instances, specs):
  """Turns row-format instances into one list per input name."""
  if not isinstance(instances, list) or not instances:
    raise ValueError('"instances" must be a non-empty list.')
  if not all(isinstance(row, dict) for row in instances):
    if any(isinstance(row, dict) for row in instances):
      raise ValueError("Instances must all be objects or all be bare values.")
    return _single_input(instances, specs)
  names = set(instances[0])
  if any(set(row) != names for row in instances):
    raise ValueError("Every instance must name the same inputs.")
  return {input_name: [row[input_name] for row in instances]
          for input_name in names}
