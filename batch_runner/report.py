"""report.md and report.html: what happened overnight and what a person must do about it.

render_markdown and render_html are pure (records and stats in, text out); write_reports reads
DIR/ledger.jsonl and DIR/run_stats.json and writes both reports and ledger.csv. The reader is a
person at 8 am: the headline and the action list, worst first, come before any statistic.
The HTML file is self-contained (inline CSS and SVG, nothing fetched), printable, and every
string that came from the input or the API is escaped.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from batch_runner import buyers as buyer_io
from batch_runner import charts, report_unfinished
from batch_runner.buyers import Buyer, BuyerKey
from batch_runner.core.model import ItemOutcome, LedgerRecord, OrderStatus
from batch_runner.core.rollup import Action, Summary, summarize
from batch_runner.core.spending import MoneySummary, summarize_money
from batch_runner.core.unfinished import Unfinished
from batch_runner.errors import JournalError
from batch_runner.journal import JOURNAL_NAME
from batch_runner.ledger import (
    LEDGER_CSV_NAME,
    LEDGER_NAME,
    RUN_STATS_NAME,
    RunStats,
    read_ledger,
    read_run_stats,
    write_ledger_csv,
)
from batch_runner.mdtext import code as _code
from batch_runner.mdtext import md as _md
from batch_runner.money_report import MONEY_HEADER, TOP_HEADER, budget_line, money_rows, top_rows
from batch_runner.report_style import CSS
from batch_runner.retry_file import RetryFile, read_retry_file
from batch_runner.summary import Stop
from batch_runner.summary import headline as run_headline
from batch_runner.unfinished import scan as scan_unfinished

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
    kind = (stats.stop_kind or "interrupted").replace("_", " ")
    stopped = f"stopped early ({kind}: {stats.stop_reason})" if stats.stop_reason else "interrupted"
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
            ("duration", duration_text(span) + (", start to end" if stats and stats.runs > 1 else "")
             if span is not None else "unknown"),
            ("state", t.state)]
    if stats is None:
        return [*rows, ("requests", "unknown: run_stats.json is missing")]
    if stats.active_s is not None:
        runs = f" in {stats.runs} runs (the chart's time axis)" if stats.runs > 1 else ""
        rows.insert(3, ("running time", duration_text(stats.active_s) + runs))
    busy = stats.active_s or span
    rate = f" ({stats.strict_requests / busy:.2f}/s" if busy else " ("
    return [
        ("input", stats.input_file), *rows,
        ("Strict tier requests", f"{stats.strict_requests}{rate} of {stats.strict_rps:g}/s allowed)"),
        ("Default tier requests", str(stats.default_requests)),
        ("429 answers", str(stats.rate_limited)),
        ("replacement carts", str(stats.replacements)),
        *([("live schema", schema_line(stats))] if stats.schema_check else []),
    ]


def schema_line(stats: RunStats) -> str:
    """The live-schema check in one line: checked (with the schema's hash) or unavailable (why)."""
    if stats.schema_check == "checked":
        return f"checked before the first order; schema sha256 {stats.schema_sha256}"
    return f"{stats.schema_check}, documents not checked: {stats.schema_note or 'no reason given'}"


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

def _buyer_of(a: Action, buyers: Mapping[BuyerKey, Buyer] | None) -> Buyer | None:
    if buyers is None:
        return None
    key: BuyerKey | None = a.line if a.outcome is ItemOutcome.INVALID else a.order_id
    return buyers.get(key) if key is not None else None


def part_of(a: Action) -> str | None:
    """`part of a PARTIAL order: its other item was placed`, when the order is not only this."""
    if not a.placed_items or a.order_status is None:
        return None
    other = "its other item was" if a.placed_items == 1 else f"its {a.placed_items} other items were"
    return f"part of a {a.order_status.value} order: {other} placed"


def _md_action(a: Action, buyers: Mapping[BuyerKey, Buyer] | None) -> str:
    parts = [_code(a.order_id or "(no order id)")]
    if (buyer := _buyer_of(a, buyers)) is not None:
        parts.append(_md(buyer.text))
    if (part := part_of(a)) is not None:
        parts.append(f"*{part}*")
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


def _md_money(m: MoneySummary, stats: RunStats | None) -> list[str]:
    line = budget_line(stats)
    rows = money_rows(m, stats)
    if line is None and not rows:
        return []
    out = ["## Money", ""] + ([f"**{line}**", ""] if line else [])
    if stats is not None and stats.max_order_total:
        out += [rf"Carts above {_md(stats.max_order_total)} were not submitted (PRICE\_ABOVE\_LIMIT).", ""]
    if rows:
        out += _md_table(MONEY_HEADER, rows)
    if m.unpriced_carts:
        out += [f"{m.unpriced_carts} cart(s) without a known price.", ""]
    if m.top:
        out += [f"Most expensive orders ({len(m.top)})", ""]
        out += _md_table(TOP_HEADER, ((_code(o), st, t, sub) for o, st, t, sub in top_rows(m)))
    return out


def title(s: Summary, stop: Stop | None, unfinished: Unfinished | None) -> str:
    """The report's first line: `batch-runner report: STOPPED EARLY (...): 11 of 25 orders
    unfinished, 8 PLACED, 6 need a person`, or without the stop for a finished run."""
    shown = unfinished if stop is not None else None
    return f"batch-runner report: {run_headline(s.by_status, shown, stop)}"


def group_note(group: list[Action]) -> str:
    """How many orders a group holds, by order status: `2 FAILED orders, 1 PARTIAL order`."""
    by_status: dict[str, int] = {}
    for a in group:
        status = a.order_status.value if a.order_status else "?"
        by_status[status] = by_status.get(status, 0) + 1
    return ", ".join(f"{v} {k} order{'s' if v != 1 else ''}" for k, v in by_status.items())


def render_markdown(records: Iterable[LedgerRecord], stats: RunStats | None, *,
                    unfinished: Unfinished | None = None,
                    buyers: Mapping[BuyerKey, Buyer] | None = None,
                    retry: str | None = None) -> str:
    """report.md: headline, what stopped early, action list grouped worst first, totals,
    reason codes, run facts."""
    records = list(records)
    s = summarize(records)
    counts, todo = headline(s)
    stop = report_unfinished.stop_of(stats, unfinished)
    out = [f"# {_md(title(s, stop, unfinished))}", "", f"{counts}  ", f"**{todo}**", ""]
    if stop is not None:
        out += report_unfinished.markdown(stop, unfinished, stats)
    out += [f"## What a person must do ({len(s.actions)})", ""]
    for outcome, group in _groups(s.actions).items():
        out += [f"**{outcome.value}** ({group_note(group)}): {TODO[outcome]}", ""]
        out += [_md_action(a, buyers) for a in group]
        out.append("")
    if not s.actions:
        out += ["Nothing.", ""]
    if retry:
        out += [f"**To send again:** {_md(retry)}", ""]
    out += _md_money(summarize_money(records), stats)
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

#: Ids never wrap inside (a Rye order id may break after its hyphens); a narrow screen scrolls
#: the table sideways instead.
ACTION_COLUMNS = ('<thead><tr><th class="order">order</th><th class="who">buyer</th>'
                  '<th class="what">what happened</th>'
                  '<th class="id">cart id</th><th class="id">Rye order id</th><th>items</th>'
                  "</tr></thead>")


def _e(text: str | None) -> str:
    return html.escape(text or "")


def _lines(values: Iterable[str]) -> str:
    """One value per line inside a cell (values already escaped)."""
    return "".join(f"<div>{v}</div>" for v in values)


def _codes(values: Iterable[str], *, hyphens: bool = False) -> str:
    """Ids as code; with `hyphens`, a line may break after a hyphen (UUIDs) and nowhere else."""
    return _lines(f"<code>{_e(v).replace('-', '-<wbr>') if hyphens else _e(v)}</code>"
                  for v in values)


def _link(url: str) -> str:
    # Only https becomes a link: a "javascript:" or other URL from the API is shown as text.
    if url.startswith("https://"):
        return f'<a href="{_e(url)}" rel="noopener noreferrer">{_e(url)}</a>'
    return f"<code>{_e(url)}</code>"


def _who(buyer: Buyer | None) -> str:
    if buyer is None:
        return '<span class="muted">(unknown)</span>'
    shown = _e(buyer.email).replace("@", "<wbr>@")  # breaks before the @, if anywhere
    email = (f'<div><a class="email" href="mailto:{_e(buyer.email)}">{shown}</a></div>'
             if buyer.email else "")
    return f"<div>{_e(buyer.name)}</div>{email}"


def _html_action(a: Action, buyers: Mapping[BuyerKey, Buyer] | None) -> str:
    detail = [f"<em>{_e(part)}</em>" for part in [part_of(a)] if part]
    detail += [_link(u) for u in a.redirect_urls]
    if a.where:
        detail.append(f"<code>{_e(a.where)}</code>")
    detail += [_e(r) for r in a.reasons]
    cells = [_codes([a.order_id or "(no order id)"]), _who(_buyer_of(a, buyers)),
             _lines(detail), _codes(a.cart_ids), _codes(a.rye_order_ids, hyphens=True),
             _codes(a.products)]
    classes = ("", "", ' class="what"', "", "", "")
    return "<tr>" + "".join(f"<td{k}>{c}</td>" for k, c in zip(classes, cells, strict=True)) + "</tr>"


def _html_actions(s: Summary, buyers: Mapping[BuyerKey, Buyer] | None) -> str:
    if not s.actions:
        return '<p class="muted">Nothing to do: every order was placed.</p>'
    out = []
    for outcome, group in _groups(s.actions).items():
        out.append(f'<h3 style="--c:{COLOURS[outcome.value]}">{outcome.value} ({_e(group_note(group))})'
                   f"<small>{_e(TODO[outcome])}</small></h3>"
                   f'<div class="scroll"><table class="actions">{ACTION_COLUMNS}<tbody>'
                   + "".join(_html_action(a, buyers) for a in group) + "</tbody></table></div>")
    return "".join(out)


def _html_table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]], cls: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if c.isdigit() else ""}>{c}</td>'
                                    for c in row) + "</tr>" for row in rows)
    return (f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _cards(s: Summary) -> str:
    return "".join(f'<div class="card" style="--c:{COLOURS[st.value]}"><b>{s.by_status[st]}</b>'
                   f"<span>{st.value}</span></div>" for st in OrderStatus if s.by_status[st])


def _charts(s: Summary, stats: RunStats | None) -> str:
    bars = charts.bar_chart([(o.value, s.by_outcome[o], COLOURS[o.value])
                             for o in ItemOutcome if s.by_outcome[o]], label="items by outcome")
    ceiling = stats.strict_rps / 2 if stats else None  # createCart + submitCart per order
    line = charts.line_chart(stats.throughput if stats else (), label="orders finished over time",
                             ceiling_per_s=ceiling, marks=stats.run_starts if stats else ())
    resumed = (" (running time; red: where a resumed run starts)"
               if stats and stats.run_starts else "")
    return (f'<div class="grid"><figure><figcaption>Items by outcome</figcaption>{bars}</figure>'
            f"<figure><figcaption>Orders finished over time{resumed}</figcaption>{line}</figure></div>")


def _facts_table(s: Summary, stats: RunStats | None) -> str:
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in facts(s, stats))
    return f'<div class="scroll"><table class="facts"><tbody>{rows}</tbody></table></div>'


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


def _html_money(m: MoneySummary, stats: RunStats | None) -> str:
    line = budget_line(stats)
    rows = money_rows(m, stats)
    if line is None and not rows:
        return ""
    out = ["<h2>Money</h2>"]
    if line:
        out.append(f'<p class="headline"><strong>{_e(line)}</strong></p>')
    if stats is not None and stats.max_order_total:
        out.append(f"<p>Carts above {_e(stats.max_order_total)} were not submitted "
                   "(PRICE_ABOVE_LIMIT).</p>")
    if rows:
        out.append(_html_table(MONEY_HEADER, (tuple(_e(c) for c in r) for r in rows), "money"))
    if m.unpriced_carts:
        out.append(f'<p class="muted">{m.unpriced_carts} cart(s) without a known price.</p>')
    if m.top:
        top = ((f"<code>{_e(o)}</code>", _e(st), _e(t), _e(sub)) for o, st, t, sub in top_rows(m))
        out.append(f"<h3 style=\"--c:#0277bd\">Most expensive orders ({len(m.top)})</h3>"
                   + _html_table(TOP_HEADER, top, "money"))
    return "".join(out)


def _html_title(s: Summary, stop: Stop | None, unfinished: Unfinished | None) -> str:
    text = title(s, stop, unfinished)
    head, sep, rest = text.partition(": ")
    if stop is None:
        return _e(text)
    flagged, sep2, tail = rest.partition(", ")  # "STOPPED EARLY (...): N of M orders unfinished"
    return f'{_e(head)}{sep}<span class="stop">{_e(flagged)}</span>{sep2}{_e(tail)}'


def render_html(records: Iterable[LedgerRecord], stats: RunStats | None, *,
                unfinished: Unfinished | None = None,
                buyers: Mapping[BuyerKey, Buyer] | None = None,
                retry: str | None = None) -> str:
    """report.html: the same content as report.md, as one self-contained, printable page."""
    records = list(records)
    s = summarize(records)
    counts, todo = headline(s)
    sub = subtitle(s, stats)
    stop = report_unfinished.stop_of(stats, unfinished)
    stopped = report_unfinished.html_section(stop, unfinished, stats) if stop else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title(s, stop, unfinished))}</title><style>{CSS}</style></head><body>"
        f'<h1>{_html_title(s, stop, unfinished)}</h1><p class="sub">{_e(sub)}</p>'
        f'<p class="headline">{_e(counts)}</p>'
        f'<p class="headline"><strong>{_e(todo)}</strong></p><div class="cards">{_cards(s)}</div>'
        f"{stopped}<h2>What a person must do ({len(s.actions)})</h2>{_html_actions(s, buyers)}"
        f"{f'<p><strong>To send again:</strong> {_e(retry)}</p>' if retry else ''}"
        f"{_html_money(summarize_money(records), stats)}"
        f"<h2>Orders: {s.orders}</h2>{_charts(s, stats)}{_tables(s, stats)}</body></html>\n"
    )


def _needs_scan(out_dir: Path, stats: RunStats | None) -> bool:
    """Whether the run may have left orders unfinished (then the journal and input say which)."""
    finished = stats is not None and stats.finished_at is not None and not stats.interrupted
    return not finished and (out_dir / JOURNAL_NAME).exists()


def retry_sentence(retry: RetryFile | None) -> str | None:
    """Where the items to send again are, for the report: the file, what it holds, its care."""
    if retry is None or not retry.items:
        return None
    return (f"{retry.path.name} in this directory: {retry.summary()}. It holds buyer data "
            "like the input (mode 0600). Fix what each line's reason says, then run it as "
            "tonight's input into a new --out.")


def write_reports(out_dir: Path, *, unfinished: Unfinished | None = None) -> tuple[Path, Path]:
    """Write report.md, report.html and ledger.csv from DIR/ledger.jsonl (+ run_stats.json).

    `unfinished`: the run's unfinished orders, when the caller has just counted them; otherwise
    they are counted here for a run that did not finish. The reports name buyers (read from the
    input, as the action list needs them), so they are written readable by the owner only."""
    ledger = out_dir / LEDGER_NAME
    stats = read_run_stats(out_dir / RUN_STATS_NAME)
    if unfinished is None and _needs_scan(out_dir, stats):
        try:
            unfinished = scan_unfinished(out_dir)
        except JournalError:  # a damaged journal: the report says the orders cannot be listed
            unfinished = None
    buyers = buyer_io.for_actions(out_dir, read_ledger(ledger))
    retry = retry_sentence(read_retry_file(out_dir))
    md, page = out_dir / REPORT_MD_NAME, out_dir / REPORT_HTML_NAME
    for path, text in (
        (md, render_markdown(read_ledger(ledger), stats, unfinished=unfinished, buyers=buyers,
                             retry=retry)),
        (page, render_html(read_ledger(ledger), stats, unfinished=unfinished, buyers=buyers,
                           retry=retry)),
    ):
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        tmp.replace(path)
    write_ledger_csv(ledger, out_dir / LEDGER_CSV_NAME)
    return md, page
