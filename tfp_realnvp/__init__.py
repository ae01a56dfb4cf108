"""tfp_realnvp: Real NVP normalizing flows as TFP bijectors and a Keras 3 model."""

from tfp_realnvp import bijectors
from tfp_realnvp import layers
from tfp_realnvp.export import export_saved_model
from tfp_realnvp.model import RealNVP

__all__ = ["RealNVP", "bijectors", "export_saved_model", "layers"]
