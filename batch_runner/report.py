"""report.md and report.html from the ledger and run statistics: what happened, what to do.

render_markdown and render_html are pure; write_reports reads the files and writes them.
Every user-provided string is escaped in HTML; the HTML file is self-contained (no external
scripts, fonts or styles) and printable.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from batch_runner.core.model import ItemOutcome, LedgerRecord, OrderStatus
from batch_runner.ledger import (
    LEDGER_CSV_NAME,
    LEDGER_NAME,
    RUN_STATS_NAME,
    RunStats,
    read_ledger,
    read_run_stats,
    write_ledger_csv,
)

#: Worst first: the order of the action list.
SEVERITY = (ItemOutcome.STUCK, ItemOutcome.ACTION_REQUIRED, ItemOutcome.NEEDS_REVIEW,
            ItemOutcome.FAILED, ItemOutcome.INVALID)
TODO = {
    ItemOutcome.STUCK: "Contact Rye support with the cart id; do not resubmit.",
    ItemOutcome.ACTION_REQUIRED: "Send the buyer the 3-D Secure link; Rye continues once done.",
    ItemOutcome.NEEDS_REVIEW: "Check the order in Rye's console before retrying anything.",
    ItemOutcome.FAILED: "Fix the cause (card, address, product) and place it in a new file.",
    ItemOutcome.INVALID: "Fix the input line and run it in a new file.",
}
COLOURS = {"PLACED": "#2e7d32", "FAILED": "#c62828", "STUCK": "#6a1b9a",
           "ACTION_REQUIRED": "#ef6c00", "NEEDS_REVIEW": "#f9a825", "INVALID": "#546e7a"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    outcome: ItemOutcome
    order_id: str
    product_id: str
    detail: str
    cart_id: str
    rye_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    orders: int
    by_status: Counter[OrderStatus]
    by_outcome: Counter[ItemOutcome]
    by_reason: Counter[str]
    actions: tuple[Action, ...]


def summarize(records: Iterable[LedgerRecord]) -> Summary:
    by_status: Counter[OrderStatus] = Counter()
    by_outcome: Counter[ItemOutcome] = Counter()
    by_reason: Counter[str] = Counter()
    actions: list[Action] = []
    orders = 0
    for record in records:
        orders += 1
        by_status[record.status] += 1
        if record.invalid is not None:
            inv = record.invalid
            detail = f"{inv.file}:{inv.line} {inv.field or ''}: {inv.message}"
            actions.append(Action(outcome=ItemOutcome.INVALID, order_id=record.order_id or "?",
                                  product_id="", detail=detail, cart_id="", rye_order_id=""))
        for item in record.items:
            by_outcome[item.outcome] += 1
            if item.reason_code:
                by_reason[item.reason_code] += 1
            if item.outcome in (ItemOutcome.PLACED, ItemOutcome.INVALID):
                continue
            detail = item.redirect_url or f"{item.reason_code or ''} {item.reason or ''}".strip()
            actions.append(Action(outcome=item.outcome, order_id=record.order_id or "?",
                                  product_id=item.product_id, detail=detail,
                                  cart_id=item.cart_id or "", rye_order_id=item.rye_order_id or ""))
    actions.sort(key=lambda a: SEVERITY.index(a.outcome))
    return Summary(orders=orders, by_status=by_status, by_outcome=by_outcome,
                   by_reason=by_reason, actions=tuple(actions))


def _duration(stats: RunStats | None) -> str:
    if stats is None or not stats.finished_at:
        return "unknown"
    seconds = (datetime.fromisoformat(stats.finished_at)
               - datetime.fromisoformat(stats.started_at)).total_seconds()
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _stats_lines(stats: RunStats | None) -> list[tuple[str, str]]:
    if stats is None:
        return []
    return [
        ("input", stats.input_file), ("started", stats.started_at),
        ("finished", stats.finished_at or "not finished"), ("duration", _duration(stats)),
        ("Strict requests", str(stats.strict_requests)),
        ("Default requests (polls)", str(stats.default_requests)),
        ("429s received", str(stats.rate_limited)), ("replacement carts", str(stats.replacements)),
        ("interrupted", "yes: rerun the same command to resume" if stats.interrupted else "no"),
    ]


def render_markdown(records: Iterable[LedgerRecord], stats: RunStats | None) -> str:
    s = summarize(records)
    out = ["# batch-runner report", ""]
    out += [f"- **{k}**: {v}" for k, v in _stats_lines(stats)]
    out += ["", f"## Orders: {s.orders}", "", "| status | orders |", "| --- | --- |"]
    out += [f"| {st.value} | {s.by_status[st]} |" for st in OrderStatus if s.by_status[st]]
    out += ["", "## Items by outcome", "", "| outcome | items |", "| --- | --- |"]
    out += [f"| {o.value} | {s.by_outcome[o]} |" for o in ItemOutcome if s.by_outcome[o]]
    if s.by_reason:
        out += ["", "## Reason codes", "", "| reason code | items |", "| --- | --- |"]
        out += [f"| {code} | {n} |" for code, n in s.by_reason.most_common()]
    out += ["", f"## What a person must do ({len(s.actions)})", ""]
    if not s.actions:
        out.append("Nothing: every order was placed.")
    for a in s.actions:
        ids = ", ".join(x for x in (f"cart `{a.cart_id}`" if a.cart_id else "",
                                    f"Rye order `{a.rye_order_id}`" if a.rye_order_id else "") if x)
        out.append(f"- **{a.outcome.value}** order `{a.order_id}` {a.product_id} — {a.detail}"
                   f"{' (' + ids + ')' if ids else ''}. {TODO[a.outcome]}")
    return "\n".join(out) + "\n"


def _bar_chart(counts: Counter[ItemOutcome]) -> str:
    total = max(1, max(counts.values(), default=1))
    rows = []
    for i, outcome in enumerate(o for o in ItemOutcome if counts[o]):
        width = 380 * counts[outcome] / total
        y = 8 + i * 26
        rows.append(
            f'<text x="0" y="{y + 14}" font-size="12">{outcome.value}</text>'
            f'<rect x="140" y="{y}" width="{width:.0f}" height="18" fill="{COLOURS[outcome.value]}"/>'
            f'<text x="{146 + width:.0f}" y="{y + 14}" font-size="12">{counts[outcome]}</text>'
        )
    height = 16 + 26 * len(rows)
    return (f'<svg role="img" aria-label="items by outcome" width="580" height="{height}" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>')


def _throughput_chart(stats: RunStats | None) -> str:
    points = stats.throughput if stats else ()
    if len(points) < 2:
        return "<p>Not enough samples for a throughput chart.</p>"
    t_max = max(p[0] for p in points) or 1.0
    n_max = max(p[1] for p in points) or 1
    path = " ".join(f"{40 + 520 * t / t_max:.1f},{170 - 150 * n / n_max:.1f}" for t, n in points)
    return (
        '<svg role="img" aria-label="orders finished over time" width="580" height="200" '
        'xmlns="http://www.w3.org/2000/svg">'
        '<line x1="40" y1="170" x2="560" y2="170" stroke="#999"/>'
        '<line x1="40" y1="20" x2="40" y2="170" stroke="#999"/>'
        f'<polyline fill="none" stroke="#1565c0" stroke-width="2" points="{path}"/>'
        f'<text x="44" y="16" font-size="11">{n_max} orders</text>'
        f'<text x="520" y="190" font-size="11">{t_max:.0f} s</text></svg>'
    )


CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}.tag{font-weight:bold}
code{font-size:12px;word-break:break-all}@media print{body{margin:0;max-width:none}}"""


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(records: Iterable[LedgerRecord], stats: RunStats | None) -> str:
    s = summarize(records)
    e = html.escape
    facts = _table(("", ""), ((e(k), e(v)) for k, v in _stats_lines(stats)))
    status = _table(("status", "orders"), ((st.value, str(s.by_status[st]))
                                            for st in OrderStatus if s.by_status[st]))
    reasons = _table(("reason code", "items"), ((e(c), str(n)) for c, n in s.by_reason.most_common()))
    actions = _table(
        ("outcome", "order", "product", "details", "cart id", "Rye order id", "what to do"),
        ((f'<span class="tag" style="color:{COLOURS[a.outcome.value]}">{a.outcome.value}</span>',
          e(a.order_id), e(a.product_id),
          (f'<a href="{e(a.detail)}">{e(a.detail)}</a>'
           if a.outcome is ItemOutcome.ACTION_REQUIRED and a.detail.startswith("https://")
           else e(a.detail)),
          f"<code>{e(a.cart_id)}</code>", f"<code>{e(a.rye_order_id)}</code>", e(TODO[a.outcome]))
         for a in s.actions),
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>batch-runner report</title><style>{CSS}</style></head><body>"
        f"<h1>batch-runner report</h1>{facts}"
        f"<h2>What a person must do ({len(s.actions)})</h2>"
        f"{actions if s.actions else '<p>Nothing: every order was placed.</p>'}"
        f"<h2>Orders: {s.orders}</h2>{status}"
        f"<h2>Items by outcome</h2>{_bar_chart(s.by_outcome)}"
        f"<h2>Throughput</h2>{_throughput_chart(stats)}"
        f"<h2>Reason codes</h2>{reasons}</body></html>\n"
    )


def write_reports(out_dir: Path) -> tuple[Path, Path]:
    ledger = out_dir / LEDGER_NAME
    stats = read_run_stats(out_dir / RUN_STATS_NAME)
    md, page = out_dir / "report.md", out_dir / "report.html"
    md.write_text(render_markdown(read_ledger(ledger), stats), encoding="utf-8")
    page.write_text(render_html(read_ledger(ledger), stats), encoding="utf-8")
    write_ledger_csv(ledger, out_dir / LEDGER_CSV_NAME)
    return md, page
