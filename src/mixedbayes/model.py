"""The ``Model`` facade: formula + data -> design -> priors -> PyMC model -> ``Fit``."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from .design import Design, make_design
from .design.make import as_frame, check_data
from .design.padding import pad_design, paddable, padded_dims
from .families import Family, get_family
from .formula.distributional import BF, parse_model_formula
from .formula.safety import check_formula, safe_context
from .graph import build_model, model_coords, observed_data, response_name
from .graph.conditional import draw_random_effects
from .graph.marginal import marginal_choice
from .priors import PriorSet, make_priors
from .results import Fit
from .results.diagnostics import warn_if_unreliable
from .sampling import check_count, no_node_traces, paused_gc, sample
from .sampling.padded import Padded


class Model:
    """A Bayesian mixed-effects model from an lme4-style formula.

    Parameters
    ----------
    formula : str or BF
        e.g. ``"gpa ~ occasion + (1 + occasion | student)"``, or :func:`mixedbayes.bf`
        formulas for other distributional parameters too
        (``mb.bf("gpa ~ occasion + (1 | student)", sigma="~ C(occasion)")``). Supports numeric and
        categorical predictors, ``C(x)``, interactions, transforms (``np.log(x)``,
        ``center(x)``, ``scale(x)``), ``0 +``/``- 1``, and random terms ``(1 | g)``,
        ``(1 + x | g)``, ``(0 + x | g)``, ``(1 + x || g)``, ``(1 | g1) + (1 | g2)``,
        ``(1 | g1/g2)`` and ``(1 | g1:g2)``.
        The response may be ``successes | trials(n)`` or ``cbind(successes, failures)``
        for the binomial family, and the fixed part may hold ``offset(np.log(exposure))``.
    data : pandas.DataFrame
    family : str, default "gaussian"
        ``"gaussian"``, ``"student_t"``, ``"bernoulli"``, ``"binomial"``, ``"poisson"``,
        ``"negative_binomial"``, ``"gamma"``, ``"beta"`` or ``"cumulative"`` (ordinal).
    priors : dict, optional
        Overrides of the default priors, keyed by class (``"Intercept"``, ``"b"``,
        ``"sd"``, ``"cor"``, and the family's ``"sigma"``, ``"nu"``, ``"shape"`` or
        ``"phi"``) or a narrower tuple such as ``("b", "x")``, ``("sd", "g")`` or
        ``("sd", "g", "x")``; values are :class:`Prior`.
    link : str, optional
        Another link than the family's default: ``"probit"`` or ``"cloglog"`` for
        bernoulli, binomial and beta, ``"probit"`` for cumulative, ``"inverse"`` for gamma.
    links : dict, optional
        Links of the distributional parameters given formulas in ``bf()``
        (``{"sigma": "log"}``, the default for the positive ones).
    dropna : bool, default True
        Drop rows with missing values in used columns (with a warning); False raises.
    context : dict, optional
        Names (functions, constants) formula expressions may use besides the columns;
        default: the caller's namespace. Given explicitly, the formula is evaluated
        safely (see ``safe``) with these names allowed.
    safe : bool, optional
        Evaluate the formula in the safe expression language only: columns, numbers,
        arithmetic, the formula functions (``C``, ``I``, ``center``, ``scale``, ``poly``,
        ``bs``, ...), numpy's elementwise functions (``np.log``, ...) and the names in
        ``context``, checked before anything runs (``mixedbayes.formula.safety``). Use it
        for a formula from an untrusted source (a web form, a config file): without it a
        formula is Python code run with the caller's names. Default: safe exactly when
        ``context`` is given; ``safe=False`` with a ``context`` evaluates freely in it.

    Attributes
    ----------
    data : DataFrame
        The data as passed.
    formula : Formula
    design : Design
    priors : PriorSet
        Printing it shows every parameter's prior and whether it is a default.

    Examples
    --------
    >>> model = mb.Model("gpa ~ occasion + (1 + occasion | student)", data=gpa)
    >>> fit = model.fit(random_seed=1)
    >>> fit.fixef()
    """

    def __init__(
        self,
        formula: str | BF,
        data: pd.DataFrame,
        family: str | Family = "gaussian",
        priors: Mapping | None = None,
        *,
        link: str | None = None,
        dropna: bool = True,
        context: Mapping | None = None,
        safe: bool | None = None,
        links: Mapping[str, str] | None = None,
    ):
        data = as_frame(data, "data")  # polars and other data frames
        self.safe = context is not None if safe is None else bool(safe)
        if context is None and not self.safe:
            caller = sys._getframe(1)
            context = {**caller.f_globals, **caller.f_locals}
        context = dict(context or {})
        self._arguments = dict(  # for with_data: the same model on other rows
            formula=formula, family=family, priors=priors, link=link, dropna=dropna,
            context=context, safe=self.safe, links=links,
        )  # fmt: skip
        with paused_gc():  # after the caller's frame is read above (no wrapper frame)
            self.formula = parse_model_formula(formula)
            if self.safe:
                check_data(data, "data")
                check_formula(self.formula, data.columns, context)
                context = safe_context(context)
            self.context = context  # names that formula expressions may use, for new data
            self.data = data
            self.family = get_family(family, link)
            self.design: Design = make_design(
                self.formula, data, self.family, dropna=dropna, context=context, links=links
            )
            self.family = self.family.for_response(self.design.response_levels)
            self.formula = self.design.formula  # with the family's default dpar formulas
            self.priors: PriorSet = make_priors(self.design, self.family, priors)
            self.user_priors = dict(priors or {})
            self._pymc_model: pm.Model | None = None
            self._marginal_models: dict[str, pm.Model] = {}
            self._padded_model: pm.Model | None = None  # what numpyro samples (_padded)

    def with_data(self, data: pd.DataFrame) -> Model:
        """The same model (formula, family, priors, links, names) on other data: for
        cross-validation, the bootstrap or a simulation study. Data-scaled default priors
        are scaled to the new data, as a fresh ``Model`` would be; the compiled sampler of
        the same shape is reused (``mixedbayes.sampling.programs``).

        Parameters
        ----------
        data : DataFrame

        Returns
        -------
        Model
        """
        return Model(data=data, **self._arguments)

    @property
    def pymc_model(self) -> pm.Model:
        """The compiled PyMC model (built on first use)."""
        if self._pymc_model is None:
            self._pymc_model = build_model(self.design, self.priors, self.family)
        return self._pymc_model

    def marginal_model(self, group: str) -> pm.Model:
        """The PyMC model with ``group``'s random effects integrated out (Gaussian only)."""
        if group not in self._marginal_models:
            self._marginal_models[group] = build_model(
                self.design, self.priors, self.family, marginalize=group
            )
        return self._marginal_models[group]

    def prior_predictive(self, draws: int = 500, random_seed: int | None = None):
        """Draws from the priors and the data they imply (a prior predictive check).

        Returns
        -------
        arviz.InferenceData
            Groups ``prior`` (every parameter), ``prior_predictive`` (the response, drawn
            as ``Fit.predict(kind="response")`` draws it) and ``observed_data``.
        """
        draws = check_count("draws", draws, 1)
        model = self.pymc_model
        names = [v.name for v in model.free_RVs + model.deterministics]
        with model, warnings.catch_warnings():
            # the Potentials are the likelihood (weights, censoring, correlated residuals),
            # not priors: the response is drawn below, as predict() draws it
            warnings.filterwarnings("ignore", "The effect of Potentials", UserWarning)
            prior = pm.sample_prior_predictive(
                draws=draws, random_seed=random_seed, var_names=names
            ).prior
        if "threshold" in prior.dims:  # the ordered prior is that of sorted i.i.d. draws
            for name in ("Intercept", "Intercept_centered"):
                axis = prior[name].dims.index("threshold")
                prior[name].values = np.sort(prior[name].values, axis=axis)
        simulated = Fit(self, az.InferenceData(posterior=prior)).predict(
            kind="response", draws=True, random_seed=random_seed
        )
        name = response_name(self.design)
        values = simulated.reshape(prior.sizes["chain"], prior.sizes["draw"], -1)
        predictive = xr.Dataset({name: (("chain", "draw", "obs"), values)}, coords=prior.coords)
        observed = xr.Dataset({name: (("obs",), self.design.y)})
        return az.InferenceData(prior=prior, prior_predictive=predictive, observed_data=observed)

    def fit(
        self,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        random_seed: int | None = None,
        sampler: str = "auto",
        progressbar: bool = True,
        target_accept: float = 0.8,
        cores: int | None = None,
        marginalize: bool | str = "auto",
    ) -> Fit:
        """Sample the posterior with NUTS.

        Parameters
        ----------
        draws, tune, chains : int
            Kept draws and warm-up steps per chain, and the number of chains.
        random_seed : int, optional
            The same seed gives identical draws (for a given sampler and machine).
        sampler : {"auto", "pymc", "nutpie", "numpyro", "blackjax"}
            "auto" is numpyro's NUTS (compiled once, then cached on disk; PyMC's own if
            numpyro is missing, or for censored or truncated responses, whose CDFs JAX
            cannot differentiate); "nutpie" and "blackjax" need their package installed.
        progressbar : bool, default True
        target_accept : float, default 0.8
            Raise towards 0.99 if the fit reports divergences.
        cores : int, optional
            Parallel chains (default: min(chains, 4)).
        marginalize : {"auto", True, False} or str
            Integrate one grouping factor's random effects out of a Gaussian likelihood
            and sample the rest (exact; much faster mixing), then draw those effects from
            their conditional posterior. "auto" does so for Gaussian models, choosing the
            factor with the most levels; a factor's name chooses it; False samples every
            random effect (non-centered). Small crossed factors with data-rich levels
            (at most 50 effects in all) are integrated out along with it when it has at
            most two coefficients.

        Returns
        -------
        Fit

        Warns
        -----
        ConvergenceWarning
            For each failed check of ``Fit.diagnostics()`` (divergences, R-hat, ESS, tree
            depth, E-BFMI), saying what to try.
        """
        settings = dict(draws=draws, tune=tune, chains=chains, random_seed=random_seed)
        settings.update(sampler=sampler, progressbar=progressbar, target_accept=target_accept)
        # a with-block, not decorators: the ConvergenceWarnings point at the caller's line
        with paused_gc(), no_node_traces():
            fit = Fit(self, self._sample(marginalize, cores=cores, **settings))
            warn_if_unreliable(fit)
        return fit

    def _sample(self, marginalize, *, sampler: str, random_seed, **settings):
        """The posterior draws of :meth:`fit`, as InferenceData."""
        group = marginal_choice(self.design, self.family, marginalize)
        additions = self.design.additions
        if sampler == "auto" and (additions.censoring is not None or additions.truncation):
            sampler = "pymc"  # JAX cannot differentiate the CDFs (erfcx, betainc) censoring needs
        idata = sample(
            (lambda: self.pymc_model) if group is None else (lambda: self.marginal_model(group)),
            sampler=sampler,
            random_seed=random_seed,
            dense_mass=self._dense_mass(group),
            padded=self._padded() if group is None else None,
            **settings,
        )
        if group is not None:
            posterior = idata.posterior
            effects = draw_random_effects(self.design, group, posterior, random_seed)
            for name, values in effects.items():
                posterior[name] = values
            posterior.attrs["marginalized"] = ", ".join(name[2:] for name in effects)
        return idata

    def _padded(self) -> Padded | None:
        """The model with its rows and levels padded (:mod:`mixedbayes.design.padding`), for
        numpyro to sample when every random effect is sampled: data sets of nearby sizes
        (k-fold's folds, a simulation study's) then share one compiled program."""
        design = self.design
        if not paddable(design):
            return None

        def build():
            if self._padded_model is None:
                self._padded_model = build_model(pad_design(design), self.priors, self.family)
            return self._padded_model

        return Padded(
            build=build,
            coords=model_coords(design, self.family),
            dims=padded_dims(design),
            observed=observed_data(design),
        )

    def _dense_mass(self, group: str | None) -> bool:
        """A full mass matrix for correlated residuals integrated with their factor and no
        other random effects: the few parameters left are strongly correlated (sigma and
        phi at 0.85 on GPA's AR(1)), which a diagonal one crosses slowly (min bulk ESS
        1,626 against 4,027 with a dense one, same draws; benchmarks/analysis.md)."""
        design = self.design
        blocks = [b for part in (design, *design.dpars) for b in part.blocks]
        return design.autocor is not None and group is not None and len(blocks) == 1

    def __repr__(self) -> str:
        groups = ", ".join(f"{b.group} ({b.n_levels})" for b in self.design.blocks)
        return (
            f"<mixedbayes.Model {self.formula.full_text!r}, family={self.family.name}, "
            f"{self.design.n_obs} observations, groups: {groups or 'none'}>"
        )
