"""Request bodies in TF Serving's REST row format ("instances")."""


def request_body(signature_name, **inputs):
  """Builds a REST `:predict` body for one of the SavedModel's signatures.

  Each keyword is a signature input given as a batch (a list or array with
  the batch along its first axis); rows are zipped into one instance per
  example, which is why every signature is batch-major.

  Example: `request_body("sample", temperature=[0.8, 0.8], labels=[3, 7])`
  gives `{"signature_name": "sample", "instances": [{"temperature": 0.8,
  "labels": 3}, {"temperature": 0.8, "labels": 7}]}`.

  Args:
    signature_name: "log_prob", "sample", "encode", "decode" or
      "serving_default".
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
