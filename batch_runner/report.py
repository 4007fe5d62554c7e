"""report.md and report.html: what happened overnight and what a person must do about it.

render_markdown and render_html are pure (records and stats in, text out); write_reports reads
DIR/ledger.jsonl and DIR/run_stats.json and writes both reports and ledger.csv. The reader is a
person at 8 am: the headline and the action list, worst first, come before any statistic.
The HTML file is self-contained (inline CSS and SVG, nothing fetched), printable, and every
string that came from the input or the API is escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from batch_runner import charts
from batch_runner.core.model import ItemOutcome, LedgerRecord, OrderStatus
from batch_runner.core.rollup import Action, Summary, summarize
from batch_runner.ledger import (
    LEDGER_CSV_NAME,
    LEDGER_NAME,
    RUN_STATS_NAME,
    RunStats,
    read_ledger,
    read_run_stats,
    write_ledger_csv,
)

REPORT_MD_NAME = "report.md"
REPORT_HTML_NAME = "report.html"

#: What the person does about each kind of action, as the heading of its group.
TODO: dict[ItemOutcome, str] = {
    ItemOutcome.STUCK: "contact Rye support with the cart id; do not resubmit or order again",
    ItemOutcome.ACTION_REQUIRED: "send the buyer the 3-D Secure link; Rye goes on once it is done",
    ItemOutcome.NEEDS_REVIEW: "look the order up with Rye before retrying anything: it may be placed",
    ItemOutcome.FAILED: "not placed: fix the cause, then order these items again in a new file",
    ItemOutcome.INVALID: "never sent: fix the input line, then run it in a new file",
}
COLOURS: dict[str, str] = {
    "PLACED": "#2e7d32", "PARTIAL": "#0277bd", "NEEDS_ATTENTION": "#ef6c00",
    "FAILED": "#c62828", "STUCK": "#6a1b9a", "ACTION_REQUIRED": "#ef6c00",
    "NEEDS_REVIEW": "#b28704", "INVALID": "#546e7a",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    started: datetime | None
    finished: datetime | None
    state: str  #: finished / interrupted / still running


def _when(text: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def timing(summary: Summary, stats: RunStats | None) -> Timing:
    """Start and end of the run: from run_stats.json when there is one, else the ledger's span."""
    if stats is None:
        return Timing(started=_when(summary.first_started_at),
                      finished=_when(summary.last_finished_at), state="finished")
    stopped = (f"stopped early ({stats.stop_kind}: {stats.stop_reason})" if stats.stop_reason
               else "interrupted")
    state = (f"{stopped}: rerun the same command to resume" if stats.interrupted
             else "finished" if stats.finished_at else "still running (or killed)")
    return Timing(started=_when(stats.started_at),
                  finished=_when(stats.finished_at or summary.last_finished_at), state=state)


def duration_text(seconds: float) -> str:
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s" if hours else f"{minutes}m{sec:02d}s"


def _clock(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "unknown"


def facts(summary: Summary, stats: RunStats | None) -> list[tuple[str, str]]:
    """The run's numbers as (label, value) rows: timings, requests per tier, 429s, replacements."""
    t = timing(summary, stats)
    span = (t.finished - t.started).total_seconds() if t.started and t.finished else None
    rows = [("started", _clock(t.started)), ("ended", _clock(t.finished)),
            ("duration", duration_text(span) if span is not None else "unknown"),
            ("state", t.state)]
    if stats is None:
        return [*rows, ("requests", "unknown: run_stats.json is missing")]
    rate = f" ({stats.strict_requests / span:.2f}/s" if span else " ("
    return [
        ("input", stats.input_file), *rows,
        ("Strict tier requests", f"{stats.strict_requests}{rate} of {stats.strict_rps:g}/s allowed)"),
        ("Default tier requests", str(stats.default_requests)),
        ("429 answers", str(stats.rate_limited)),
        ("replacement carts", str(stats.replacements)),
    ]


def headline(summary: Summary) -> tuple[str, str]:
    """Two sentences: the orders by status, and how many need a person."""
    parts = [f"{summary.by_status[s]} {s.value}" for s in OrderStatus if summary.by_status[s]]
    counts = f"{summary.orders} orders: {', '.join(parts)}." if parts else "The ledger is empty."
    n = summary.orders_to_act_on
    todo = ("Nothing to do: every order was placed." if n == 0 else
            f"{n} order{'s' if n != 1 else ''} need{'s' if n == 1 else ''} a person (below, worst first).")
    return counts, todo


def _groups(actions: Iterable[Action]) -> dict[ItemOutcome, list[Action]]:
    groups: dict[ItemOutcome, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.outcome, []).append(action)
    return groups


# ---------------------------------------------------------------------------------- Markdown

#: Characters that format Markdown text mid-line; "_" inside a word (PAYMENT_DECLINED) is literal.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")


def _md(text: str) -> str:
    """Free text in Markdown: one line, with the characters that would format it escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _code(text: str | None) -> str:
    """An id as a code span: literal in any renderer, safe inside a table cell."""
    flat = " ".join((text or "(none)").split()).replace("|", "\\|")
    fence = "``" if "`" in flat else "`"
    return f"{fence} {flat} {fence}" if fence == "``" else f"`{flat}`"


def _md_action(a: Action) -> str:
    parts = [_code(a.order_id or "(no order id)")]
    if a.where:
        parts.append(_code(a.where))
    parts += [f"<{u}>" if re.fullmatch(r"https://[^\s<>]+", u) else _code(u) for u in a.redirect_urls]
    parts += [_md(r) for r in a.reasons]
    parts += [f"cart {_code(c)}" for c in a.cart_ids]
    parts += [f"Rye order {_code(r)}" for r in a.rye_order_ids]
    if a.products:
        parts.append("items " + ", ".join(_code(p) for p in a.products))
    return "- " + " · ".join(parts)


def _md_table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def render_markdown(records: Iterable[LedgerRecord], stats: RunStats | None) -> str:
    """report.md: headline, action list grouped worst first, totals, reason codes, run facts."""
    s = summarize(records)
    counts, todo = headline(s)
    out = ["# batch-runner report", "", f"{counts}  ", f"**{todo}**", "",
           f"## What a person must do ({len(s.actions)})", ""]
    for outcome, group in _groups(s.actions).items():
        out += [f"**{outcome.value}** ({len(group)}): {TODO[outcome]}", ""]
        out += [_md_action(a) for a in group]
        out.append("")
    if not s.actions:
        out += ["Nothing.", ""]
    out += [f"## Orders: {s.orders}", ""]
    out += _md_table(("order status", "orders"),
                     ((st.value, str(s.by_status[st])) for st in OrderStatus if s.by_status[st]))
    out += _md_table(("item outcome", "items"),
                     ((o.value, str(s.by_outcome[o])) for o in ItemOutcome if s.by_outcome[o]))
    if s.by_reason:
        out += ["## Reason codes", ""]
        out += _md_table(("reason code", "outcome", "items"),
                         ((_code(code), o.value, str(n)) for (code, o), n in s.by_reason.most_common()))
    out += ["## Run", ""]
    out += _md_table(("", ""), ((label, _md(value)) for label, value in facts(s, stats)))
    return "\n".join(out).rstrip() + "\n"


# -------------------------------------------------------------------------------------- HTML

CSS = """
:root{--ink:#1d1d1f;--muted:#66666b;--rule:#d9d9de;--soft:#f4f4f6}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
 margin:0 auto;padding:24px 32px 48px;max-width:1100px}
h1{font-size:22px;margin:0}h2{font-size:17px;margin:30px 0 8px}
h3{font-size:15px;margin:18px 0 4px;padding-left:10px;border-left:5px solid var(--c)}
h3 small{font-weight:normal;color:var(--muted);font-size:13px;margin-left:6px}
.sub{color:var(--muted);margin:2px 0 12px}.headline{font-size:16px;margin:4px 0}
.muted{color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:14px 0 6px}
.card{border:1px solid var(--rule);border-top:4px solid var(--c);border-radius:6px;
 padding:6px 14px;min-width:120px}.card b{display:block;font-size:22px}
.card span{font-size:12px;color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th,td{border-bottom:1px solid var(--rule);padding:5px 8px;text-align:left;vertical-align:top;
 font-size:13px;overflow-wrap:anywhere}
th{background:var(--soft);font-size:11px;text-transform:uppercase;letter-spacing:.04em}
table.actions{table-layout:fixed}
table.actions th.order{width:15%}table.actions th.what{width:37%}
table.actions th.id{width:16%}
td.n{text-align:right;font-variant-numeric:tabular-nums;width:6em}
table.facts td:first-child{color:var(--muted);white-space:nowrap;width:1%}
code{font:12px/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
td div+div{margin-top:2px}a{color:#0b57d0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:12px 32px;
 align-items:start}
figure{margin:0}figcaption,.grid h4{font-weight:600;margin:0 0 4px;font-size:14px}
svg.chart{width:100%;height:auto;max-width:520px}
svg.chart text{font:11px system-ui,sans-serif;fill:var(--ink)}
svg .grid{stroke:#ececf0}svg .axis{stroke:#9a9aa0}
svg .line{fill:none;stroke:#1565c0;stroke-width:2}svg .area{fill:#1565c0;fill-opacity:.12}
svg .ceiling{fill:none;stroke:#9a9aa0;stroke-dasharray:5 4}
@media print{body{padding:0;max-width:none;font-size:11px}
 @page{margin:12mm}
 h2,h3{break-after:avoid}tr,figure,.card{break-inside:avoid}
 a{color:inherit;text-decoration:none}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""
#: With table-layout:fixed the header cells set the widths, so every group's columns line up.
ACTION_COLUMNS = ('<thead><tr><th class="order">order</th><th class="what">what happened</th>'
                  '<th class="id">cart id</th><th class="id">Rye order id</th><th>items</th>'
                  "</tr></thead>")


def _e(text: str | None) -> str:
    return html.escape(text or "")


def _lines(values: Iterable[str]) -> str:
    """One value per line inside a cell (values already escaped)."""
    return "".join(f"<div>{v}</div>" for v in values)


def _codes(values: Iterable[str]) -> str:
    return _lines(f"<code>{_e(v)}</code>" for v in values)


def _link(url: str) -> str:
    # Only https becomes a link: a "javascript:" or other URL from the API is shown as text.
    if url.startswith("https://"):
        return f'<a href="{_e(url)}" rel="noopener noreferrer">{_e(url)}</a>'
    return f"<code>{_e(url)}</code>"


def _html_action(a: Action) -> str:
    detail = [_link(u) for u in a.redirect_urls]
    if a.where:
        detail.append(f"<code>{_e(a.where)}</code>")
    detail += [_e(r) for r in a.reasons]
    cells = [_codes([a.order_id or "(no order id)"]), _lines(detail),
             _codes(a.cart_ids), _codes(a.rye_order_ids), _codes(a.products)]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _html_actions(s: Summary) -> str:
    if not s.actions:
        return '<p class="muted">Nothing to do: every order was placed.</p>'
    out = []
    for outcome, group in _groups(s.actions).items():
        out.append(f'<h3 style="--c:{COLOURS[outcome.value]}">{outcome.value} ({len(group)})'
                   f"<small>{_e(TODO[outcome])}</small></h3>"
                   f'<table class="actions">{ACTION_COLUMNS}<tbody>'
                   + "".join(_html_action(a) for a in group) + "</tbody></table>")
    return "".join(out)


def _html_table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]], cls: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if c.isdigit() else ""}>{c}</td>'
                                    for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cards(s: Summary) -> str:
    return "".join(f'<div class="card" style="--c:{COLOURS[st.value]}"><b>{s.by_status[st]}</b>'
                   f"<span>{st.value}</span></div>" for st in OrderStatus if s.by_status[st])


def _charts(s: Summary, stats: RunStats | None) -> str:
    bars = charts.bar_chart([(o.value, s.by_outcome[o], COLOURS[o.value])
                             for o in ItemOutcome if s.by_outcome[o]], label="items by outcome")
    ceiling = stats.strict_rps / 2 if stats else None  # createCart + submitCart per order
    line = charts.line_chart(stats.throughput if stats else (), label="orders finished over time",
                             ceiling_per_s=ceiling)
    return (f'<div class="grid"><figure><figcaption>Items by outcome</figcaption>{bars}</figure>'
            f"<figure><figcaption>Orders finished over time</figcaption>{line}</figure></div>")


def _facts_table(s: Summary, stats: RunStats | None) -> str:
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in facts(s, stats))
    return f'<table class="facts"><tbody>{rows}</tbody></table>'


def _tables(s: Summary, stats: RunStats | None) -> str:
    reasons = (_html_table(("reason code", "outcome", "items"),
                           ((f"<code>{_e(c)}</code>", o.value, str(n))
                            for (c, o), n in s.by_reason.most_common()), "counts")
               if s.by_reason else '<p class="muted">None.</p>')
    return (f'<div class="grid"><div><h2>Reason codes</h2>{reasons}</div>'
            f"<div><h2>Run</h2>{_facts_table(s, stats)}</div></div>")


def subtitle(summary: Summary, stats: RunStats | None) -> str:
    """One line under the title: input file, when, how long, and whether the run finished."""
    t = timing(summary, stats)
    parts = [Path(stats.input_file).name if stats else ""]
    if t.started:
        start = t.started.astimezone(UTC)
        end = t.finished.astimezone(UTC) if t.finished else None
        end_text = "?" if end is None else end.strftime(
            "%H:%M UTC" if end.date() == start.date() else "%Y-%m-%d %H:%M UTC")
        parts.append(f"{start:%Y-%m-%d %H:%M} \u2192 {end_text}")
        if end is not None:
            parts.append(duration_text((end - start).total_seconds()))
    parts.append(t.state)
    return " \u00b7 ".join(p for p in parts if p)


def render_html(records: Iterable[LedgerRecord], stats: RunStats | None) -> str:
    """report.html: the same content as report.md, as one self-contained, printable page."""
    s = summarize(records)
    counts, todo = headline(s)
    sub = subtitle(s, stats)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>batch-runner report: {_e(sub)}</title><style>{CSS}</style></head><body>"
        f'<h1>batch-runner report</h1><p class="sub">{_e(sub)}</p>'
        f'<p class="headline">{_e(counts)}</p>'
        f'<p class="headline"><strong>{_e(todo)}</strong></p><div class="cards">{_cards(s)}</div>'
        f"<h2>What a person must do ({len(s.actions)})</h2>{_html_actions(s)}"
        f"<h2>Orders: {s.orders}</h2>{_charts(s, stats)}{_tables(s, stats)}</body></html>\n"
    )


def write_reports(out_dir: Path) -> tuple[Path, Path]:
    """Write report.md, report.html and ledger.csv from DIR/ledger.jsonl (+ run_stats.json)."""
    ledger = out_dir / LEDGER_NAME
    stats = read_run_stats(out_dir / RUN_STATS_NAME)
    md, page = out_dir / REPORT_MD_NAME, out_dir / REPORT_HTML_NAME
    for path, text in ((md, render_markdown(read_ledger(ledger), stats)),
                       (page, render_html(read_ledger(ledger), stats))):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    write_ledger_csv(ledger, out_dir / LEDGER_CSV_NAME)
    return md, page
