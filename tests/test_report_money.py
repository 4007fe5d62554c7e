"""The report's Money section: spent vs budget, sums per currency, the most expensive orders."""

from __future__ import annotations

from batch_runner.core.model import (
    CartRecord,
    ItemOutcome,
    ItemResult,
    LedgerRecord,
    Marketplace,
    OrderStatus,
)
from batch_runner.ledger import RunStats
from batch_runner.report import render_markdown
from batch_runner.report_html import render_html


def placed(order_id: str, total: int) -> LedgerRecord:
    item = ItemResult(marketplace=Marketplace.AMAZON, product_id="B0", quantity=1,
                      outcome=ItemOutcome.PLACED, cart_id=f"c-{order_id}")
    cart = CartRecord(cart_id=f"c-{order_id}", generation=0, submitted=True, total=total,
                      currency="USD")
    return LedgerRecord(order_id=order_id, status=OrderStatus.PLACED, items=(item,), carts=(cart,))


STATS = RunStats(started_at="2026-11-24T01:00:00+00:00", finished_at="2026-11-24T02:00:00+00:00",
                 input_file="orders.csv", orders_total=2, strict_requests=4, default_requests=9,
                 rate_limited=0, replacements=0, strict_rps=1.0, interrupted=True,
                 stop_kind="budget", stop_reason="budget reached", committed={"USD": 30_000},
                 budget=40_000, budget_currency="USD", max_order_total="250")


def test_markdown_money_section() -> None:
    """Spent vs budget, per-currency sums and the top orders, most expensive first."""
    text = render_markdown([placed("A", 10_000), placed("B", 20_000)], STATS)
    assert "**Budget: spent 300.00 USD of 400.00 USD (75 %)**" in text
    assert "| USD | 2 | 300.00 USD | 300.00 USD | 300.00 USD | 300.00 USD |" in text
    assert text.index("| `B` | PLACED | 200.00 USD | yes |") < text.index("| `A` | PLACED | 100.00 USD | yes |")
    assert "Carts above 250 were not submitted" in text


def test_html_money_section_and_no_section_without_money() -> None:
    """The HTML page has the same budget line; a ledger without prices has no Money section."""
    page = render_html([placed("A", 10_000)], STATS)
    assert "Budget: spent 300.00 USD of 400.00 USD (75 %)" in page
    bare = LedgerRecord(order_id="Z", status=OrderStatus.FAILED, items=())
    assert "Money" not in render_markdown([bare], None)
