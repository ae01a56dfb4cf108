"""tfp_realnvp: Real NVP normalizing flows as TFP bijectors and a Keras 3 model.

Importing the package registers `RealNVP` with Keras, so that
`keras.models.load_model("model.keras")` works after `import tfp_realnvp`.
"""

from tfp_realnvp import bijectors
from tfp_realnvp import layers
from tfp_realnvp.config import ModelConfig
from tfp_realnvp.export import export_saved_model
from tfp_realnvp.loading import TrainedModel
from tfp_realnvp.loading import load
from tfp_realnvp.model import RealNVP
from tfp_realnvp.version import __version__

__all__ = ["ModelConfig", "RealNVP", "TrainedModel", "__version__",
           "bijectors", "export_saved_model", "layers", "load"]
