"""What TF Serving does with a REST row-format `:predict` request, for tests.

No model server can be installed here, so tests run REST bodies through the
loaded SavedModel the way TF Serving's row format does: instances are stacked
into one batch per input, cast to the signature's dtypes, and the outputs are
split back into one prediction per row (bare values for a single output).
"""

import tensorflow as tf


def predict(loaded, body):
  """Answers `body` (a REST request dict) with a REST response dict."""
  signature = loaded.signatures[body.get("signature_name", "serving_default")]
  specs = signature.structured_input_signature[1]
  instances = body["instances"]
  missing = set(specs) - set(instances[0])
  if missing:
    raise ValueError(f"request lacks inputs {sorted(missing)}")
  inputs = {name: tf.constant([row[name] for row in instances], spec.dtype)
            for name, spec in specs.items()}
  outputs = {name: value.numpy() for name, value in signature(**inputs).items()}
  rows = range(len(instances))
  if len(outputs) == 1:
    (values,) = outputs.values()
    return {"predictions": [values[i].tolist() for i in rows]}
  return {"predictions": [{name: values[i].tolist()
                           for name, values in outputs.items()} for i in rows]}
