"""Real NVP bijectors. `forward` maps latent -> data (TFP convention)."""

from tfp_realnvp.bijectors.actnorm import ActNorm
from tfp_realnvp.bijectors.additive_coupling import AdditiveCoupling
from tfp_realnvp.bijectors.batch_norm import BatchNormalization
from tfp_realnvp.bijectors.conditioned import Conditioned
from tfp_realnvp.bijectors.coupling import AffineCoupling
from tfp_realnvp.bijectors.coupling import channel_mask
from tfp_realnvp.bijectors.coupling import checkerboard_mask
from tfp_realnvp.bijectors.coupling import make_mask
from tfp_realnvp.bijectors.factor_out import FactorOut
from tfp_realnvp.bijectors.invertible_1x1_conv import Invertible1x1Conv
from tfp_realnvp.bijectors.preprocessing import logit_transform
from tfp_realnvp.bijectors.routing import per_resolution
from tfp_realnvp.bijectors.routing import route_kwargs
from tfp_realnvp.bijectors.squeeze import squeeze

__all__ = [
    "ActNorm", "AdditiveCoupling", "AffineCoupling", "BatchNormalization", "Conditioned",
    "FactorOut", "Invertible1x1Conv",
    "channel_mask", "checkerboard_mask", "logit_transform", "make_mask",
    "per_resolution", "route_kwargs", "squeeze",
]
