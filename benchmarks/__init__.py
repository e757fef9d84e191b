"""mixedbayes against bambi on the same data, draws and machine (``make bench``).

``run.py`` drives the comparison, ``fit_one.py`` fits one (library, model) pair in its own
process, ``models.py`` holds the models and their data, ``metrics.py`` the ESS / R-hat
bookkeeping and ``report.py`` the markdown report. Only numpy, pandas, xarray and arviz are
imported at module level, so the bambi virtualenv can import them too.
"""
