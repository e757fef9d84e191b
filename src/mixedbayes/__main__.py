"""``python -m mixedbayes``: the ``mixedbayes`` command line (see :mod:`mixedbayes.cli`).

``python -m mixedbayes demo`` fits a random-slopes model on the shipped demo data, prints
the summary and writes its figures to ``figures/``.
"""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
