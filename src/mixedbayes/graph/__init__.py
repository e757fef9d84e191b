"""The PyMC graph: Design + PriorSet + Family -> pm.Model (non-centered random effects,
or Gaussian ones integrated out)."""

from .model import build_model, coef_dim, model_coords, observed_data, response_name

__all__ = ["build_model", "coef_dim", "model_coords", "observed_data", "response_name"]
