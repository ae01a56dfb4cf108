"""Keras layers that hold the flow's weights (TFP bijectors only reference them)."""

from tfp_realnvp.layers.actnorm_weights import ActNormWeights
from tfp_realnvp.layers.conditioning_network import ConditioningNetwork
from tfp_realnvp.layers.lu_weights import LUWeights
from tfp_realnvp.layers.moving_moments import MovingMoments
from tfp_realnvp.layers.shift_and_log_scale import ShiftAndLogScaleResNet
from tfp_realnvp.layers.weight_norm_conv import WeightNormConv2D

__all__ = ["ActNormWeights", "ConditioningNetwork", "LUWeights", "MovingMoments", "ShiftAndLogScaleResNet", "WeightNormConv2D"]
