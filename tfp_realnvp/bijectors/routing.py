"""Routes keyword arguments through nested TFP chains to the bijectors that take them."""

from tfp_realnvp._compat import CHAIN_TYPES
from tfp_realnvp._compat import INVERT_TYPES
from tfp_realnvp.bijectors.factor_out import FactorOut


def route_kwargs(bijector, **kwargs):
  """Returns the keyword arguments `bijector.forward/inverse` needs to deliver `kwargs`.

  `tfb.Chain` gives each member `kwargs[member.name]`, `tfb.Invert` and
  `FactorOut` pass theirs on unchanged, and a leaf bijector takes only the
  names in its `accepted_kwargs` (e.g. `conditional_input` for couplings,
  `training` for batch normalization). A value may also be a callable
  `value(leaf)` that gives each leaf bijector its own (e.g. the condition's
  features at the resolution of a coupling's event, `per_resolution`).

  Example: `flow.inverse(x, **route_kwargs(flow, conditional_input=c))`.

  Args:
    bijector: a TFP bijector: a `tfb.Chain`, `tfb.Invert` or `FactorOut`
      (searched recursively), or a leaf bijector.
    **kwargs: the keyword arguments to deliver, e.g.
      `conditional_input=` (float [N, K], or a callable of the leaf) and
      `training=` (Python bool).

  Returns:
    dict: for `bijector.forward`/`inverse` and their log-determinants; for
    a chain, member name -> that member's routed dict (members that take none
    of `kwargs` are left out); for a leaf, the entries of `kwargs` it
    accepts. Empty when no bijector takes any.

  Raises:
    ValueError: if two members of one chain that take keyword arguments
      share a name (routing would be ambiguous).
  """
  if isinstance(bijector, CHAIN_TYPES):
    routed = {}
    for member in bijector.bijectors:
      member_kwargs = route_kwargs(member, **kwargs)
      if member_kwargs and member.name in routed:
        raise ValueError(
            f"Bijectors within {bijector.name!r} that take keyword arguments "
            f"need unique names; {member.name!r} appears twice.")
      routed[member.name] = member_kwargs
    return {name: value for name, value in routed.items() if value}
  if isinstance(bijector, INVERT_TYPES):
    return route_kwargs(bijector.bijector, **kwargs)
  if isinstance(bijector, FactorOut):
    return route_kwargs(bijector.inner, **kwargs)
  accepted = getattr(bijector, "accepted_kwargs", ())
  return {key: value(bijector) if callable(value) else value
          for key, value in kwargs.items() if key in accepted}


def per_resolution(features):
  """A `route_kwargs` value giving every coupling the features of its event's resolution.

  Args:
    features: None, a tensor (every coupling gets it, e.g. a one-hot label
      [N, K]), or a dict (H, W) -> tensor of the condition's features at
      that resolution ([N, H, W, F] or [N, F]; `RealNVP`'s conditioning
      network).

  Returns:
    `features` itself unless it is a dict; else a callable of a coupling
    (a bijector with a `mask` [H, W, C]) returning `features[(H, W)]`.
  """
  if not isinstance(features, dict):
    return features
  return lambda coupling: features[tuple(coupling.mask.shape[:2])]
