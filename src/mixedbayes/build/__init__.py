"""Build: Design + PriorSet + Family -> pm.Model (non-centered random effects)."""

from .model import build_model, coef_dim, response_name

__all__ = ["build_model", "coef_dim", "response_name"]
