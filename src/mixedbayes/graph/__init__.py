"""The PyMC graph: Design + PriorSet + Family -> pm.Model (non-centered random effects,
or Gaussian ones integrated out)."""

from .joint import joint_labels
from .model import build_model, coef_dim, response_name

__all__ = ["build_model", "coef_dim", "joint_labels", "response_name"]
