"""``Fit``: a sampled model, summarized in mixed-model vocabulary."""

from __future__ import annotations

import arviz as az
import pandas as pd

from .report import Summary
from .stats import check_prob
from .tables import cor_table, diagnostics_line, fixef_table, varcorr_table


class Fit:
    """The posterior of a :class:`~mixedbayes.Model`.

    Attributes
    ----------
    model : Model
        The model that was fitted (formula, design, priors).
    idata : arviz.InferenceData
        Draws with named dims: ``posterior`` holds ``Intercept``, ``b``, ``sd_<group>``,
        ``cor_<group>``, ``r_<group>`` (random effects), ``z_<group>`` and family
        parameters such as ``sigma``.
    """

    def __init__(self, model, idata: az.InferenceData):
        self.model = model
        self.idata = idata

    @property
    def posterior(self):
        return self.idata.posterior

    def fixef(self, prob: float = 0.95) -> pd.DataFrame:
        """Fixed effects: ``term, estimate, sd, lower, upper, rhat, ess_bulk, ess_tail``.

        ``estimate`` is the posterior mean and ``lower``/``upper`` the equal-tailed
        ``prob`` interval. The intercept is on the scale of the data as given.
        """
        return fixef_table(self.posterior, self.model.design.fixed_terms, prob)

    def varcorr(self, prob: float = 0.95) -> pd.DataFrame:
        """Variance components: one row per random-effect sd, and ``Residual`` (Gaussian).

        Columns ``group, term, sd, sd_lower, sd_upper, variance, var_prop, rhat,
        ess_bulk, ess_tail``; ``var_prop`` is the posterior mean share of total variance.
        """
        return varcorr_table(self.posterior, self.model.design, self.model.family, prob)

    def cor(self, prob: float = 0.95) -> pd.DataFrame:
        """Random-effect correlations: ``group, term1, term2, estimate, lower, upper, ...``."""
        return cor_table(self.posterior, self.model.design, prob)

    def summary(self, prob: float = 0.95) -> Summary:
        """A printable report: model, data, groups, estimates, priors and diagnostics."""
        check_prob(prob)
        design, model = self.model.design, self.model
        posterior = self.posterior
        tuning = self.idata.posterior.attrs.get("tuning_steps", "?")
        groups = ", ".join(f"{b.group} ({b.n_levels} levels)" for b in design.blocks)
        header = [
            (
                "Model",
                f"Bayesian mixed model, family {model.family.name} ({model.family.link} link)",
            ),
            ("Formula", model.formula.text),
            (
                "Data",
                f"{design.n_obs} observations"
                + (f" ({design.n_dropped} dropped for missing values)" if design.n_dropped else ""),
            ),
            ("Groups", groups or "none"),
            (
                "Draws",
                f"{posterior.sizes['chain']} chains x {posterior.sizes['draw']} draws "
                f"(after {tuning} tuning steps)",
            ),
        ]
        pct = f"{prob:.0%}"
        fixef = self.fixef(prob).drop(columns="ess_tail")
        varcorr = self.varcorr(prob)[
            ["group", "term", "sd", "sd_lower", "sd_upper", "var_prop", "rhat", "ess_bulk"]
        ]
        cor = self.cor(prob).drop(columns="ess_tail")
        sections = [
            (f"Fixed effects (posterior mean, sd, {pct} interval)", fixef),
            (f"Variance components (standard deviations, {pct} interval)", varcorr),
        ]
        if len(cor):
            sections.append((f"Random-effect correlations ({pct} interval)", cor))
        sections.append(("Priors", self.model.priors.table()))
        footer = "Diagnostics: " + diagnostics_line(self.idata, [fixef, varcorr, cor])
        return Summary(header, sections, footer)

    def __repr__(self) -> str:
        return str(self.summary())
