"""What TF Serving does with a REST `:predict` request, for tests.

No model server can be installed here, so tests run REST bodies through the
loaded SavedModel the way TF Serving does; the logic is the library's
`tfp_realnvp.rest.predict` (row and columnar formats), which the notebooks
use too.
"""

from tfp_realnvp.rest import predict  # pylint: disable=unused-import
