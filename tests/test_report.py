"""report.md and report.html: the action list worst first, counts, timings, charts, and safe HTML."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batch_runner import charts
from batch_runner.core.model import (
    CartRecord,
    InvalidInfo,
    ItemOutcome,
    ItemResult,
    LedgerRecord,
    Marketplace,
    OrderStatus,
)
from batch_runner.core.rollup import order_status, summarize
from batch_runner.core.unfinished import StopPoint, Unfinished, UnfinishedOrder, tally
from batch_runner.journal import Journal
from batch_runner.ledger import LedgerWriter, RunStats, write_run_stats
from batch_runner.report import render_markdown, write_reports
from batch_runner.report_content import facts
from batch_runner.report_html import render_html

O = ItemOutcome
EVIL = '<script>alert("x")</script>'
#: HTML elements that never have an end tag.
VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "wbr", "col", "source"})


def _item(n: int, outcome: ItemOutcome, **extra: str | None) -> ItemResult:
    return ItemResult(
        marketplace=Marketplace.AMAZON if n % 2 else Marketplace.SHOPIFY,
        product_id=f"B0{n:08d}" if n % 2 else f"4{n:07d}", quantity=1 + n % 3, outcome=outcome,
        cart_id=extra.pop("cart_id", f"cart_{n:04d}x7Qk2"), **extra,  # type: ignore[arg-type]
    )


def _order(n: int, *items: ItemResult, order_id: str | None = None) -> LedgerRecord:
    return LedgerRecord(
        order_id=order_id or f"NIGHT-{n:04d}", status=order_status(i.outcome for i in items),
        items=items, carts=tuple(CartRecord(cart_id=c, generation=0, submitted=True)
                                 for c in dict.fromkeys(i.cart_id for i in items if i.cart_id)),
        started_at=f"2026-11-24T22:00:{2 * n:02d}+00:00",
        finished_at=f"2026-11-24T22:{2 + n // 3:02d}:{n:02d}+00:00",
    )


def mixed_ledger() -> list[LedgerRecord]:
    """Twenty-five orders of every kind, two of them with hostile text, as a night might leave."""
    records = [_order(n, _item(n, O.PLACED, rye_order_id=f"ro_{n}")) for n in range(1, 15)]
    records += [
        _order(15, _item(15, O.PLACED, rye_order_id="ro_15a"), _item(16, O.PLACED, rye_order_id="ro_15b")),
        _order(16, _item(17, O.STUCK, rye_order_id="ro_16", reason_code="SUBMISSION_STUCK",
                         reason="only OrderSubmissionStartedOrderEvent for 600 s")),
        _order(17, _item(18, O.ACTION_REQUIRED, rye_order_id="ro_17",
                         redirect_url="https://checkout.rye.com/3ds/ro_17?t=abc",
                         reason_code="PAYMENT_CHALLENGE")),
        _order(18, _item(19, O.PLACED, rye_order_id="ro_18a"),
               _item(20, O.NEEDS_REVIEW, rye_order_id="ro_18b", reason_code="UNKNOWN_FAILURE",
                     reason="failed without retryable")),
        _order(19, _item(21, O.FAILED, reason_code="PAYMENT_DECLINED", reason="card declined")),
        _order(20, _item(22, O.PLACED, rye_order_id="ro_20"),
               _item(23, O.FAILED, reason_code="OUT_OF_STOCK", reason="variant sold out")),
        _order(21, _item(24, O.FAILED, cart_id=None, reason_code="PRODUCT_NOT_FOUND",
                         reason="no such product")),
        _order(22, _item(25, O.STUCK, rye_order_id=EVIL, reason=EVIL), order_id=EVIL),
        _order(23, _item(26, O.ACTION_REQUIRED, redirect_url="javascript:alert(1)")),
        LedgerRecord(order_id="NIGHT-0024", status=OrderStatus.INVALID, items=(),
                     invalid=InvalidInfo(file="orders.csv", line=88, field="quantity",
                                         message="quantity must be a whole number >= 1, got 'two'")),
        LedgerRecord(order_id="NIGHT-0003", status=OrderStatus.INVALID,
                     items=(_item(27, O.INVALID, cart_id=None, reason_code="INVALID",
                                  reason="DUPLICATE_ORDER_ID"),),
                     invalid=InvalidInfo(file="orders.csv", line=91, field="order_id",
                                         message="DUPLICATE_ORDER_ID: NIGHT-0003 appeared on line 4")),
    ]
    return records


def run_stats(*, interrupted: bool = False) -> RunStats:
    return RunStats(
        started_at="2026-11-24T22:00:00+00:00", finished_at="2026-11-24T22:12:30+00:00",
        input_file="/srv/orders/tonight.csv", orders_total=25, strict_requests=61,
        default_requests=1430, rate_limited=3, replacements=2, strict_rps=1.0,
        throughput=tuple((t, max(0, min(25, (t - 100) // 24))) for t in range(0, 751, 15)),
        interrupted=interrupted,
    )


class StrictChecker(HTMLParser):
    """Fails on an end tag that closes the wrong element; records what the page would fetch."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.fetches: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag in ("script", "link", "img", "iframe", "object", "embed") or "src" in values:
            self.fetches.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)  # <rect .../> in SVG: opens and closes at once

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> with nothing open"
        assert self.stack.pop() == tag, f"</{tag}> closes the wrong element"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> StrictChecker:
    checker = StrictChecker()
    checker.feed(page)
    checker.close()
    assert checker.stack == [], f"unclosed: {checker.stack}"
    return checker


def test_html_report_is_well_formed_and_self_contained() -> None:
    """Every tag closes in order, and the page loads nothing: no script, link, image or url()."""
    page = render_html(mixed_ledger(), run_stats())
    checker = parse(page)
    assert page.startswith("<!DOCTYPE html>")
    assert checker.fetches == []
    assert "url(" not in page
    assert "@import" not in page
    assert checker.tags.count("svg") == 2
    assert "@media print" in page


def test_html_report_lists_every_order_that_needs_a_person() -> None:
    """Each order with an item not PLACED, or INVALID, appears in the action list."""
    records = mixed_ledger()
    page = render_html(records, run_stats())
    actions = " ".join(parse(page).text).split("What a person must do", 1)[1].split("Orders:", 1)[0]
    needing = [r.order_id for r in records
               if r.status is not OrderStatus.PLACED or any(i.outcome is not O.PLACED for i in r.items)]
    assert len(needing) == 10
    for order_id in needing:
        assert order_id in actions, order_id
    assert "NIGHT-0001" not in actions


def test_html_report_escapes_every_user_string() -> None:
    """An order id, Rye order id or reason holding <script> is shown as text, never run."""
    page = render_html(mixed_ledger(), run_stats())
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert EVIL in " ".join(parse(page).text)


def test_only_https_redirect_urls_become_links() -> None:
    """The 3-D Secure URL is a link; a javascript: URL from the API is shown, not linked."""
    page = render_html(mixed_ledger(), run_stats())
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs == ["https://checkout.rye.com/3ds/ro_17?t=abc"]
    assert "javascript:alert(1)" in page


def test_markdown_report_starts_with_the_headline_and_the_action_list_worst_first() -> None:
    """Counts and "N orders need a person" come first, then STUCK, ACTION_REQUIRED, ..., INVALID."""
    text = render_markdown(mixed_ledger(), run_stats())
    head, rest = text.split("## What a person must do (10)", 1)
    assert "25 orders: 15 PLACED, 5 NEEDS_ATTENTION, 1 PARTIAL, 2 FAILED, 2 INVALID." in head
    assert "**10 orders need a person (below, worst first).**" in head
    actions = rest.split("## Orders:", 1)[0]
    order = [actions.index(f"**{o.value}**") for o in
             (O.STUCK, O.ACTION_REQUIRED, O.NEEDS_REVIEW, O.FAILED, O.INVALID)]
    assert order == sorted(order)
    assert "<https://checkout.rye.com/3ds/ro_17?t=abc>" in actions
    assert "`orders.csv:88 quantity`" in actions
    assert "cart `cart_0017x7Qk2`" in actions
    assert "Rye order `ro_16`" in actions


def test_markdown_report_cannot_be_broken_by_user_text() -> None:
    """Hostile text stays inside code spans or is escaped, so it never renders as HTML."""
    text = render_markdown(mixed_ledger(), run_stats())
    assert "<script>" not in text.replace(f"`{EVIL}`", "").replace("\\<script>", "")
    assert "\\<script>alert(" in text


def test_counts_by_status_outcome_and_reason_code_add_up() -> None:
    """Totals in the report match the ledger, in both formats."""
    records = mixed_ledger()
    s = summarize(records)
    assert s.orders == 25
    assert sum(s.by_status.values()) == 25
    text = render_markdown(records, run_stats())
    assert "| PLACED | 15 |" in text
    assert "| `PAYMENT_DECLINED` | FAILED | 1 |" in text
    page = render_html(records, run_stats())
    assert "<code>OUT_OF_STOCK</code>" in page


def test_run_facts_show_timings_requests_per_tier_429s_and_replacements() -> None:
    """Start, end, duration, Strict and Default requests, 429s and replacement carts are reported."""
    rows = dict(facts(summarize(mixed_ledger()), run_stats()))
    assert rows["started"] == "2026-11-24 22:00:00 UTC"
    assert rows["ended"] == "2026-11-24 22:12:30 UTC"
    assert rows["duration"] == "12m30s"
    assert rows["Strict tier requests"] == "61 (0.08/s of 1/s allowed)"
    assert rows["Default tier requests"] == "1430"
    assert rows["429 answers"] == "3"
    assert rows["replacement carts"] == "2"
    assert rows["state"] == "finished"


def test_without_run_stats_the_timings_come_from_the_ledger() -> None:
    """report DIR on a ledger alone still gives the run's span from started_at/finished_at."""
    rows = dict(facts(summarize(mixed_ledger()), None))
    assert rows["started"] == "2026-11-24 22:00:02 UTC"
    assert rows["ended"] == "2026-11-24 22:09:23 UTC"
    assert "missing" in rows["requests"]
    assert "Too few samples" in render_html(mixed_ledger(), None)


def test_an_interrupted_run_says_how_to_resume() -> None:
    """The report of an interrupted run tells the reader to rerun the same command."""
    assert "rerun the same command" in render_markdown(mixed_ledger(), run_stats(interrupted=True))


def test_an_all_placed_night_says_there_is_nothing_to_do() -> None:
    """With every order placed, the report says so in one line."""
    records = [r for r in mixed_ledger() if r.status is OrderStatus.PLACED]
    assert "Nothing to do: every order was placed." in render_markdown(records, None)
    assert "Nothing to do: every order was placed." in render_html(records, None)
    parse(render_html([], None))


def test_write_reports_renders_from_a_ledger_on_disk(tmp_path: Path) -> None:
    """From DIR/ledger.jsonl and run_stats.json, write_reports writes report.md, report.html, ledger.csv."""
    with LedgerWriter(tmp_path) as writer:
        for record in mixed_ledger():
            writer.write(record)
    write_run_stats(tmp_path / "run_stats.json", run_stats())
    md, page = write_reports(tmp_path)
    assert (md.name, page.name) == ("report.md", "report.html")
    assert "## Orders: 25" in md.read_text(encoding="utf-8")
    assert "12m30s" in page.read_text(encoding="utf-8")
    assert (tmp_path / "ledger.csv").read_bytes().count(b"\r\n") == 1 + 28  # header + one row per item
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ledger.csv", "ledger.jsonl", "report.html", "report.md", "run_stats.json"]


@pytest.mark.parametrize(
    ("span", "step"), [(10, 2), (25, 5), (7, 2), (1, 0.2), (1000, 200), (3, 1), (0, 1), (40.5, 10)]
)
def test_chart_ticks_are_round_numbers(span: float, step: float) -> None:
    """Axis steps are 1, 2 or 5 times a power of ten, at most five to an axis."""
    assert charts.nice_step(span) == pytest.approx(step)


def test_throughput_chart_scales_hours_and_draws_the_strict_ceiling() -> None:
    """A long run is charted in hours, with the Strict budget's ceiling as a dashed line."""
    svg = charts.line_chart([(0.0, 0), (3600.0, 900), (3 * 3600.0, 2000)], label="t",
                            ceiling_per_s=0.5)
    assert "time (h)" in svg
    assert 'class="ceiling"' in svg
    parse(svg)


def test_a_long_night_of_samples_is_thinned_but_keeps_its_end() -> None:
    """18,000 throughput samples draw as at most MAX_POINTS + 1 points, ending at the last one."""
    samples = [(2.0 * i, i // 4) for i in range(18_000)]
    svg = charts.line_chart(samples, label="t")
    points = re.search(r'<polyline points="([^"]*)" class="line"', svg)
    assert points is not None
    drawn = points.group(1).split()
    assert len(drawn) <= charts.MAX_POINTS + 1
    last_x = max(float(p.split(",")[0]) for p in drawn)
    assert float(drawn[-1].split(",")[0]) == last_x  # the final sample is drawn, at the right edge


def _stopped_stats() -> RunStats:
    return replace(run_stats(interrupted=True), stop_kind="deadline", stop_reason="deadline 06:00 reached",
                   resume_command="batch-runner run --job jobs/nightly.toml", runs=2, active_s=600.0,
                   run_starts=(300.0,))


def _unfinished() -> Unfinished:
    orders = [UnfinishedOrder(order_id="LATE-1", line=90, point=StopPoint.SUBMITTED, generation=1,
                              cart_id="cart_late1"),
              UnfinishedOrder(order_id="LATE-2", line=92, point=StopPoint.NOT_STARTED)]
    return tally(orders, count=40, input_read=True, limit=2)


def test_a_stopped_run_says_so_in_the_first_line_and_lists_the_unfinished() -> None:
    """Report's first line: STOPPED EARLY, N of M unfinished; then where each stopped and the command."""
    md = render_markdown(mixed_ledger(), _stopped_stats(), unfinished=_unfinished())
    assert md.splitlines()[0] == ("# batch-runner report: STOPPED EARLY (deadline): 40 of 65 orders "
                                  "unfinished, 15 PLACED, 10 need a person")
    section = md.split("## Stopped early: 40 orders unfinished", 1)[1].split("## What a person", 1)[0]
    assert "**Deadline 06:00 reached.**" in section
    assert "    batch-runner run --job jobs/nightly.toml" in section
    assert "Where they stopped: submitted, waiting for Rye's answer: 1; not started: 39." in section
    assert "| `LATE-1` | 90 | submitted, waiting for Rye's answer | `cart_late1` (replacement 1) |" in section
    assert "… and 38 more, not started" in section
    page = render_html(mixed_ledger(), _stopped_stats(), unfinished=_unfinished())
    parse(page)
    h1 = re.search(r"<h1>(.*?)</h1>", page)
    assert h1 is not None
    assert "STOPPED EARLY (deadline): 40 of 65 orders unfinished" in h1.group(1)
    assert "<pre>batch-runner run --job jobs/nightly.toml</pre>" in page


def test_durations_and_the_chart_agree_across_resumed_runs() -> None:
    """Wall span and running time are both shown; the chart marks where the second run starts."""
    rows = dict(facts(summarize(mixed_ledger()), _stopped_stats()))
    assert rows["duration"] == "12m30s, start to end"
    assert rows["running time"] == "10m00s in 2 runs (the chart's time axis)"
    assert rows["Strict tier requests"] == "61 (0.10/s of 1/s allowed)"  # per second of running
    assert 'class="resumed"' in render_html(mixed_ledger(), _stopped_stats())


def test_a_partial_orders_failed_items_say_so_and_counts_agree() -> None:
    """FAILED group: 2 FAILED orders and 1 PARTIAL one, labelled; the items chart has INVALID."""
    records = mixed_ledger()
    md = render_markdown(records, run_stats())
    assert "**FAILED** (2 FAILED orders, 1 PARTIAL order)" in md
    partial = next(line for line in md.splitlines() if line.startswith("- `NIGHT-0020`"))
    assert "*part of a PARTIAL order: its other item was placed*" in partial
    s = summarize(records)
    assert s.by_outcome[O.INVALID] == 2  # one read item, and one order whose item could not be read
    assert ">INVALID</text>" in render_html(records, run_stats())


def test_actions_name_the_buyer_read_from_the_input(tmp_path: Path) -> None:
    """Name and email come from the input (here CSV) by order id, and by line for an INVALID entry;
    once the input changed, no buyer is shown rather than a wrong one."""
    header = "order_id,marketplace,product_id,quantity,first_name,last_name,email,address1,city,postal_code,country_code"
    source = tmp_path / "orders.csv"
    rows = [header, "NIGHT-0019,AMAZON,B000000019,1,Ada,Lovelace,ada@example.com,1 Main St,York,10001,US",
            "NIGHT-0024,AMAZON,B000000024,x,Grace,Hopper,grace@example.com,2 Main St,York,10001,US"]
    source.write_text("".join(f"{row}\n" for row in rows))
    Journal.open(tmp_path, source).close()
    records = [r for r in mixed_ledger() if r.order_id in ("NIGHT-0019", "NIGHT-0024")]
    records = [replace(r, invalid=replace(r.invalid, line=3)) if r.invalid else r for r in records]
    with LedgerWriter(tmp_path) as writer:
        for record in records:
            writer.write(record)
    md, page = write_reports(tmp_path)
    text = md.read_text()
    assert "- `NIGHT-0019` · Ada Lovelace \\<ada@example.com>" in text
    assert "- `NIGHT-0024` · Grace Hopper \\<grace@example.com>" in text
    assert 'href="mailto:ada@example.com"' in page.read_text()
    assert md.stat().st_mode & 0o077 == 0
    assert page.stat().st_mode & 0o077 == 0
    source.write_text(source.read_text().replace("Ada", "Eve"))
    write_reports(tmp_path)
    assert "Lovelace" not in md.read_text()
    assert "Eve" not in md.read_text()


@given(samples=st.lists(st.tuples(st.floats(0, 1e5), st.integers(0, 10**6)), min_size=2, max_size=60),
       ceiling=st.floats(0.001, 1000), marks=st.lists(st.floats(0, 1e5), max_size=3))
def test_every_line_of_the_throughput_chart_stays_inside_its_plot(
    samples: list[tuple[float, int]], ceiling: float, marks: list[float]
) -> None:
    """Whatever the samples and the Strict ceiling, no drawn point leaves the plot box."""
    svg = charts.line_chart(samples, label="t", ceiling_per_s=ceiling, marks=marks)
    for points in re.findall(r'<(?:polyline|polygon) points="([^"]*)"', svg):
        for point in points.split():
            x, y = (float(v) for v in point.split(","))
            assert 48 <= x <= charts.WIDTH - 14
            assert 22 <= y <= 188
    for x1, y1, y2 in re.findall(r'<line x1="([^"]*)" y1="([^"]*)" x2="[^"]*" y2="([^"]*)" class="resumed"', svg):
        assert 48 <= float(x1) <= charts.WIDTH - 14
        assert 22 <= float(y1) <= float(y2) <= 188



def test_a_run_stopped_early_with_nothing_to_act_on_never_says_every_order_was_placed() -> None:
    """Every finished order PLACED, but the run stopped early: the headline and the empty action
    list point to the unfinished orders instead of saying all is well."""
    records = [r for r in mixed_ledger() if r.status is OrderStatus.PLACED]
    for text in (render_markdown(records, _stopped_stats()), render_html(records, _stopped_stats())):
        assert "every order was placed" not in text
        assert "No finished order needs a person yet; the run stopped early" in text


def test_a_report_without_run_stats_does_not_call_the_run_finished() -> None:
    """run_stats.json is written when a run ends: without it (a first run killed), the state is
    unknown, not "finished"."""
    text = render_markdown(mixed_ledger(), None)
    assert "unknown (no run_stats.json: the run may not have ended)" in text
    assert "| state | finished |" not in text
