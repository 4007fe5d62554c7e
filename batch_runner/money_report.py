"""The report's money section as rows of text: spent vs budget, sums per currency, top orders.

Pure (ledger sums and run statistics in, strings out); report.py lays the rows out in Markdown
and HTML. Amounts come from core/spending.py (the ledger) and run_stats.json (the journal's
committed reservations and the limits).
"""

from __future__ import annotations

from batch_runner.core.money import fmt
from batch_runner.core.spending import MoneySummary
from batch_runner.ledger import RunStats

MONEY_HEADER = ("currency", "carts priced", "priced", "submitted", "placed", "committed now")
TOP_HEADER = ("order", "status", "total", "submitted")


def budget_line(stats: RunStats | None) -> str | None:
    """"Budget: spent X of Y (n %)", from the journal's reservations as run_stats.json keeps them."""
    if stats is None or stats.budget is None or stats.budget_currency is None:
        return None
    cur = stats.budget_currency
    spent = stats.committed.get(cur, 0)
    share = f" ({100 * spent / stats.budget:.0f} %)" if stats.budget else ""
    return f"Budget: spent {fmt(spent, cur)} of {fmt(stats.budget, cur)}{share}"


def money_rows(m: MoneySummary, stats: RunStats | None) -> list[tuple[str, ...]]:
    """Per currency: carts priced, and the priced, submitted, placed and committed sums."""
    committed = stats.committed if stats else {}
    rows = []
    for cur in sorted(m.by_currency.keys() | committed.keys()):
        sums = m.by_currency.get(cur)
        cells = ((fmt(v, cur) for v in (sums.priced, sums.submitted, sums.placed))
                 if sums else ("-", "-", "-"))
        rows.append((cur, str(sums.carts if sums else 0), *cells,
                     fmt(committed.get(cur, 0), cur)))
    return rows


def top_rows(m: MoneySummary) -> list[tuple[str, ...]]:
    return [(c.order_id or "(no order id)", c.status.value, fmt(c.total, c.currency),
             "yes" if c.submitted else "no") for c in m.top]
