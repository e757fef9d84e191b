"""``Fit.summary()``: a printable report in lme4's vocabulary (text and HTML)."""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Summary:
    """The summary of a fit; ``print()`` it, or let a notebook render it as HTML."""

    header: list[tuple[str, str]]
    sections: list[tuple[str, pd.DataFrame]]
    footer: str

    def __str__(self) -> str:
        width = max(len(key) for key, _ in self.header)
        lines = [f"{key:>{width}}: {value}" for key, value in self.header]
        for title, table in self.sections:
            lines += ["", f"{title}:", _text(table)]
        lines += ["", self.footer]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        parts = ["<div class='mixedbayes-summary'><table>"]
        parts += [
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in self.header
        ]
        parts.append("</table>")
        for title, table in self.sections:
            parts.append(f"<h4>{html.escape(title)}</h4>")
            parts.append(table.to_html(index=False, float_format=_fmt, na_rep=""))
        parts.append(f"<p>{html.escape(self.footer)}</p></div>")
        return "\n".join(parts)


def _fmt(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"


def _text(table: pd.DataFrame) -> str:
    if table.empty:
        return "  (none)"
    formatters = {c: _fmt for c in table.columns if pd.api.types.is_float_dtype(table[c])}
    for column in ("ess_bulk", "ess_tail"):
        if column in table:
            formatters[column] = lambda v: "nan" if pd.isna(v) else f"{v:.0f}"
    return table.to_string(index=False, formatters=formatters, na_rep="")
