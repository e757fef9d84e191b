"""``Fit``: a sampled model, summarized in mixed-model vocabulary."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd

from . import marginal_effects
from .autocor import autocor_table
from .checks import (
    icc_table,
    posterior_predictive,
    prior_posterior_table,
    r2_table,
    with_log_likelihood,
)
from .diagnostics import diagnostics_table
from .effects import effects_table
from .fit_plots import PlotMethods
from .grid import datagrid
from .hypothesis import hypothesis_table
from .io import save_fit
from .predict import predict
from .report import Summary
from .stats import check_prob
from .tables import (
    cor_table,
    diagnostics_line,
    fixef_table,
    response_note,
    smooths_table,
    varcorr_table,
)


class Fit(PlotMethods):
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

    def fixef(self, prob: float = 0.95, exponentiate: bool = False) -> pd.DataFrame:
        """Fixed effects: ``term, estimate, sd, lower, upper, rhat, ess_bulk, ess_tail``.

        ``estimate`` is the posterior mean and ``lower``/``upper`` the equal-tailed
        ``prob`` interval. The intercept is on the scale of the data as given; ordinal
        models report their thresholds as ``Intercept[a|b]``.

        Parameters
        ----------
        prob : float, default 0.95
        exponentiate : bool, default False
            Report exp(coefficient): odds ratios for logit links, rate ratios for log
            links (estimate = posterior mean of the ratio; interval = exp of the interval).
        """
        return fixef_table(self.posterior, self.model.design, prob, exponentiate)

    def varcorr(self, prob: float = 0.95) -> pd.DataFrame:
        """Variance components: one row per random-effect sd, and ``Residual`` (Gaussian).

        Columns ``group, term, sd, sd_lower, sd_upper, variance, var_prop, rhat,
        ess_bulk, ess_tail``; ``var_prop`` is the posterior mean share of total variance.
        """
        return varcorr_table(self.posterior, self.model.design, self.model.family, prob)

    def cor(self, prob: float = 0.95) -> pd.DataFrame:
        """Random-effect correlations: ``group, term1, term2, estimate, lower, upper, ...``."""
        return cor_table(self.posterior, self.model.design, prob)

    def autocor(self, prob: float = 0.95) -> pd.DataFrame:
        """The residual correlation structure: ``term, estimate, sd, lower, upper, rhat,
        ess_bulk, ess_tail`` with terms ``ar[1]``, ``ma[1]`` or ``cosy`` (empty without
        one)."""
        return autocor_table(self.posterior, self.model.design.autocor, check_prob(prob))

    def smooths(self, prob: float = 0.95) -> pd.DataFrame:
        """The smooth terms' sds: ``term, estimate, sd, lower, upper, rhat, ess_bulk,
        ess_tail, dpar`` with terms ``sds(sx_1)`` (brms's names; empty without smooths)."""
        return smooths_table(self.posterior, self.model.design, check_prob(prob))

    def ranef(self, prob: float = 0.95) -> pd.DataFrame:
        """Random effects: ``group_var, term, group, value, se, lower, upper``.

        One row per (grouping factor, term, level): the posterior mean of the level's
        deviation from the fixed effect, its posterior sd and equal-tailed interval.
        """
        return effects_table(self.posterior, self.model.design, prob, fixed=False)

    def coef(self, prob: float = 0.95) -> pd.DataFrame:
        """Group-specific coefficients (fixed + random, draw by draw), as :meth:`ranef`.

        A random term without a fixed counterpart, and an ordinal model's intercept,
        contributes its random part only.
        """
        return effects_table(self.posterior, self.model.design, prob, fixed=True)

    def icc(self, prob: float = 0.95) -> pd.DataFrame:
        """Intraclass correlation per grouping factor: ``group, estimate, lower, upper``.

        The random-intercept variance of the factor over the sum of all random-intercept
        variances and the residual variance (sigma^2 for Gaussian models; pi^2/3, 1 and
        pi^2/6 on the latent scale of logit, probit and cloglog links). Random slopes are
        left out, as in lme4-based tools: with slopes the share depends on the covariate.
        """
        return icc_table(self, prob)

    def r2(self, prob: float = 0.95) -> pd.DataFrame:
        """Bayesian R² (Gelman et al. 2019): rows ``marginal`` (fixed effects only) and
        ``conditional`` (with random effects); columns ``estimate, lower, upper``.

        Per draw, ``var(fit) / (var(fit) + var(y - fit))`` over the rows, with ``fit`` the
        expected response (brms's ``bayes_R2``).
        """
        return r2_table(self, prob)

    def hypothesis(
        self, hypotheses, prob: float = 0.95, random_seed: int | None = None
    ) -> pd.DataFrame:
        """Test hypotheses about the terms, draw by draw (brms's ``hypothesis()``).

        Parameters
        ----------
        hypotheses : str or list of str
            ``"occasion > 0.1"``, ``"sex[T.male] + occasion = 0"``: two sides of
            ``+ - * /`` of terms and numbers joined by ``<``, ``>`` or ``=``. Terms are the
            :meth:`fixef` names and the random-effect sds as ``sd_<group>[<coef>]``.
        prob : float, default 0.95
            Probability of the equal-tailed interval of left - right.
        random_seed : int, optional
            Seeds the prior draws of the Savage-Dickey ratio (``=`` hypotheses).

        Returns
        -------
        DataFrame
            ``hypothesis, estimate, sd, lower, upper, post_prob, evidence_ratio, star``:
            posterior summary of left - right; for ``<``/``>`` the share of draws where
            it holds and its odds; for ``=`` the posterior over the prior density at 0
            (``post_prob`` NaN; ``evidence_ratio`` NaN for improper priors); ``"*"``
            when the interval excludes 0.
        """
        return hypothesis_table(self, hypotheses, prob, random_seed)

    def kfold(self, k: int = 10, group: str | None = None, **kwargs):
        """K-fold cross-validation by refitting (brms's ``kfold``), for model comparison
        where ``loo()`` warns about high Pareto k.

        Parameters
        ----------
        k : int, default 10
            Number of folds.
        group : str, optional
            A grouping factor (or data column) whose levels stay together: each fold holds
            out whole levels, and their effects are drawn from the fitted population
            (brms's ``folds = "grouped"``). Default: rows at random.
        **kwargs
            ``joint`` (default True: score each held-out level's rows together, the
            predictive density of a new group; False scores rows one by one as brms
            does), ``folds`` (an array of fold numbers per row, instead of drawing them),
            ``random_seed`` (folds, refits and new-level draws), ``progressbar``, and
            ``Model.fit`` options for the refits (default: this fit's draws, tune, chains).

        Returns
        -------
        KFold
            ``elpd``, ``se``, ``p_kfold``, ``pointwise`` and ``folds``; ``mb.compare``
            ranks several of them.
        """
        from .kfold import kfold

        return kfold(self, k, group, **kwargs)

    def loo(self, pointwise: bool = False):
        """PSIS-LOO (arviz ELPDData); the log-likelihood is computed on first use.

        Warns (``UserWarning``) when rows have Pareto k above ArviZ's threshold, naming
        :meth:`kfold`, which refits instead of approximating.
        """
        result = az.loo(with_log_likelihood(self), pointwise=True)
        k = np.asarray(result.pareto_k)
        high = int((k > result.good_k).sum())
        if high:
            groups = sorted(self.model.design.factor_blocks, key=lambda b: -b.n_levels)
            by = f", group={groups[0].label!r}" if groups else ""
            warnings.warn(
                f"{high} of {k.size} rows have Pareto k > {result.good_k:.2f}: PSIS-LOO is "
                f"unreliable for them; fit.kfold(k=10{by}) refits the model instead",
                UserWarning,
                stacklevel=2,
            )
        return result if pointwise else az.loo(with_log_likelihood(self), pointwise=False)

    def waic(self, pointwise: bool = False):
        """WAIC (arviz ELPDData, ``elpd_waic`` first)."""
        # arviz 0.23 names the total "waic" without pointwise values and cannot print it
        result = az.waic(with_log_likelihood(self), pointwise=True)
        return result if pointwise else type(result)(result.drop("waic_i"))

    def ppc(self, random_seed: int | None = None) -> az.InferenceData:
        """The InferenceData with a ``posterior_predictive`` group: one replicated data
        set per posterior draw (see ``plot_ppc``)."""
        return posterior_predictive(self, random_seed)

    def prior_vs_posterior(self, draws: int = 1000, random_seed: int | None = None):
        """Prior and posterior mean and sd of every parameter, and their ``contraction``
        (1 - posterior variance / prior variance); see also ``plot_prior_vs_posterior``."""
        return prior_posterior_table(self, draws, random_seed)

    def save(self, path) -> None:
        """Write the fit to a netCDF file that :func:`mixedbayes.load` reads back."""
        save_fit(self, path)

    def predict(
        self,
        newdata: pd.DataFrame | None = None,
        include_random: bool = True,
        new_groups: str = "sample",
        kind: str = "mean",
        prob: float = 0.95,
        draws: bool = False,
        *,
        max_draws: int | None = None,
        random_seed: int | None = None,
        dpar: str = "mu",
    ):
        """Predictions for the fitted rows or for ``newdata``, with intervals.

        Parameters
        ----------
        newdata : DataFrame, optional
            Rows to predict; default the data the model was fitted to. It is encoded as
            the training data was (same categories, contrasts and ``center``/``scale``
            constants); an unseen category of a fixed-effect predictor is an error.
        include_random : bool, default True
            Add the random effects of each row's groups (conditional prediction); False
            gives the population-level prediction (fixed effects only).
        new_groups : {"sample", "population", "error"}
            For a level of a grouping factor that was not in the fitted data: draw its
            effects from the fitted distribution N(0, S R S), one draw per posterior draw
            (the prediction interval then includes between-group variation); use zero
            effects; or raise an error naming the factor and level.
        kind : {"mean", "link", "response"}
            ``"mean"``: expected response (probability for bernoulli, expected successes
            for binomial, category probabilities for cumulative); ``"link"``: the linear
            predictor; ``"response"``: draws from the likelihood (posterior predictive;
            0/1 for bernoulli, category codes 0..K-1 for cumulative).
        prob : float, default 0.95
            Probability of the equal-tailed interval.
        draws : bool, default False
            Return the array of draws (posterior draws x rows [x categories]) instead of
            the summary.
        max_draws : int, optional
            Use at most this many posterior draws, evenly thinned (bounds memory for large
            ``newdata``; rows are processed in chunks in any case).
        random_seed : int, optional
            Seeds the draws for new groups and ``kind="response"``.
        dpar : str, default "mu"
            Predict another distributional parameter (brms's ``dpar=``): ``"sigma"``
            gives each row's residual sd on its own scale (``kind="link"``: on its link
            scale), from its ``bf()`` formula or, without one, its single value.

        Returns
        -------
        DataFrame
            ``estimate`` (posterior mean), ``lower``, ``upper``, indexed by newdata's row
            labels (``row``, and ``category`` for the category probabilities of ordinal
            models); or an ndarray when ``draws=True``.
        """
        return predict(
            self,
            newdata,
            include_random=include_random,
            new_groups=new_groups,
            kind=kind,
            prob=prob,
            draws=draws,
            max_draws=max_draws,
            random_seed=random_seed,
            dpar=dpar,
        )

    def predictions(self, newdata=None, by=None, **kwargs) -> pd.DataFrame:
        """Per-row predictions of ``newdata`` (default the fitted rows) with ``estimate, sd,
        lower, upper``, or their per-draw average within ``by`` groups; ``**kwargs`` as
        :meth:`predict`. See :func:`mixedbayes.results.marginal_effects.predictions`."""
        return marginal_effects.predictions(self, newdata, by, **kwargs)

    def comparisons(self, variable, values=None, newdata=None, by=None, **kwargs):
        """Average counterfactual comparison of ``variable``: ``term, contrast, [by...],
        estimate, sd, lower, upper`` (marginaleffects' ``avg_comparisons``); ``values``
        ``(low, high)``, default each level vs the first or ``x + 1`` vs ``x``; ``comparison=
        "ratio"``, ``kind="link"``. See :func:`mixedbayes.results.marginal_effects.comparisons`."""
        return marginal_effects.comparisons(self, variable, values, newdata, by, **kwargs)

    def slopes(self, variable, newdata=None, by=None, **kwargs) -> pd.DataFrame:
        """Average slope (derivative) of numeric ``variable``, as :meth:`comparisons`. See
        :func:`mixedbayes.results.marginal_effects.slopes`."""
        return marginal_effects.slopes(self, variable, newdata, by, **kwargs)

    def datagrid(self, **values) -> pd.DataFrame:
        """Every combination of ``values`` (``x=[0, 1], sex="male"``); other columns the
        model uses at their mean or most common value (``mb.datagrid``)."""
        return datagrid(self, **values)

    def diagnostics(self) -> pd.DataFrame:
        """Convergence checks: ``check, value, threshold, ok, where, advice``.

        Divergent transitions (none), max R-hat of the reported parameters (<= 1.01), min
        bulk and tail ESS (>= 100 per chain), draws at the maximum tree depth (none) and
        min E-BFMI per chain (>= 0.3). ``Model.fit`` warns (``mb.ConvergenceWarning``)
        for each failed check.
        """
        return diagnostics_table(self)

    def summary(self, prob: float = 0.95) -> Summary:
        """A printable report: model, data, groups, estimates, priors and diagnostics."""
        check_prob(prob)
        design, model = self.model.design, self.model
        posterior = self.posterior
        tuning = self.idata.posterior.attrs.get("tuning_steps", "?")
        groups = ", ".join(f"{b.group} ({b.n_levels} levels)" for b in design.factor_blocks)
        header = [
            (
                "Model",
                f"Bayesian mixed model, family {model.family.name} ({model.family.link} link)",
            ),
            ("Formula", model.formula.full_text),
            *response_note(model),
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
            + ["dpar"]
        ]
        cor = self.cor(prob).drop(columns="ess_tail")
        sections = []
        for part in design.parts:  # one section per distributional parameter
            rows = fixef[fixef["dpar"] == part.dpar].drop(columns="dpar")
            if part.dpar == "mu":
                title = f"Fixed effects (posterior mean, sd, {pct} interval)"
            else:
                title = f"{part.dpar} ({part.link} link): {part.formula.text}"
            sections.append((title, rows))
        multi = len(design.parts) > 1
        components = varcorr if multi else varcorr.drop(columns="dpar")
        sections.append((f"Variance components (standard deviations, {pct} interval)", components))
        if len(cor):
            correlations = cor if multi else cor.drop(columns="dpar")
            sections.append((f"Random-effect correlations ({pct} interval)", correlations))
        smooths = self.smooths(prob)
        if len(smooths):
            smooths = smooths if multi else smooths.drop(columns="dpar")
            sections.append((f"Smooth terms ({pct} interval)", smooths.drop(columns="ess_tail")))
        if design.autocor is not None:
            title = f"Correlation structure, {design.autocor.term.text} ({pct} interval)"
            sections.append((title, self.autocor(prob).drop(columns="ess_tail")))
        sections.append(("Priors", self.model.priors.table()))
        tables = [fixef, varcorr, cor, smooths, self.autocor(prob)]
        footer = "Diagnostics: " + diagnostics_line(self.idata, tables)
        return Summary(header, sections, footer)

    def __repr__(self) -> str:
        return str(self.summary())
