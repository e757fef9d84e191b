"""The plot methods of :class:`~mixedbayes.Fit` (a mixin, so ``fit.py`` stays the tables).

Each returns a matplotlib Figure.
"""

from __future__ import annotations

from . import diagnostic_plots, effect_plots, plots


class PlotMethods:
    """``fit.plot_*``: effects, random effects, checks and diagnostics."""

    def plot_ranef(self, group=None, term=None, prob=0.95, sort=True, max_levels=None):
        """Caterpillar plot of :meth:`ranef`: levels with intervals, those excluding zero
        highlighted; one panel per (factor, term). Returns a matplotlib Figure."""
        return plots.plot_ranef(self, group, term, prob, sort, max_levels)

    def plot_effects(self, x, by=None, data=None, n_points=50, prob=0.95, **kwargs):
        """Conditional effect of numeric predictor ``x`` with its band, other predictors
        at their mean or most common value; ``groups=[...]`` or ``by=`` draws one line per
        group or level; ``include_random=True`` adds a new group's variation;
        ``dpar="sigma"`` draws that parameter instead of the mean. Figure."""
        return plots.plot_effects(self, x, by, data, n_points, prob, **kwargs)

    def plot_trajectories(self, x=None, group=None, data=None, n_groups=12, random_seed=None):
        """Spaghetti plot for longitudinal data: observed points and fitted line with band
        for a sample of ``n_groups`` levels of ``group``. Returns a matplotlib Figure."""
        return plots.plot_trajectories(self, x, group, data, n_groups, random_seed)

    def plot_ppc(self, kind="density", n_draws=50, random_seed=None):
        """Observed response against ``n_draws`` posterior predictive replicates
        (densities, or counts per value for discrete families). Figure."""
        return plots.plot_ppc(self, kind, n_draws, random_seed)

    def plot_predictions(self, condition, **kwargs):
        """:meth:`predictions` over a grid of ``condition`` (x axis[, lines]). Figure."""
        return effect_plots.plot_predictions(self, condition, **kwargs)

    def plot_comparisons(self, variable, by=None, **kwargs):
        """:meth:`comparisons` as points with intervals, per contrast and group. Figure."""
        return effect_plots.plot_comparisons(self, variable, by, **kwargs)

    def plot_slopes(self, variable, condition=None, **kwargs):
        """:meth:`slopes` over a grid of ``condition``, or its average. Figure."""
        return effect_plots.plot_slopes(self, variable, condition, **kwargs)

    def plot_trace(self, var_names=None):
        """ArviZ's trace plot of the reported parameters (or ``var_names``). Figure."""
        return diagnostic_plots.plot_trace(self, var_names)

    def plot_rank(self, var_names=None):
        """ArviZ's rank plot (flat histograms when the chains agree). Figure."""
        return diagnostic_plots.plot_rank(self, var_names)

    def plot_prior_vs_posterior(self, draws: int = 1000, random_seed=None, var_names=None):
        """Prior (grey) and posterior (blue) density per scalar parameter. Figure."""
        return diagnostic_plots.plot_prior_vs_posterior(self, draws, random_seed, var_names)

    def plot_funnel(self, group=None, coef=None, n_levels: int = 4):
        """A factor's log sd against its least-observed levels' effects, divergent draws
        in red: the funnel that troubles NUTS. Figure."""
        return diagnostic_plots.plot_funnel(self, group, coef, n_levels)
