"""report.md and report.html: what happened overnight and what a person must do about it.

render_markdown (here) and report_html.render_html are pure (records and stats in, text out);
write_reports reads DIR/ledger.jsonl and DIR/run_stats.json and writes both reports and
ledger.csv. The reader is a person at 8 am: the headline and the action list, worst first, come
before any statistic. What both say is in report_content.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from batch_runner import buyers as buyer_io
from batch_runner import report_unfinished
from batch_runner.buyers import Buyer, BuyerKey
from batch_runner.core.model import ItemOutcome, LedgerRecord, OrderStatus
from batch_runner.core.rollup import Action, summarize
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
from batch_runner.report_content import (
    TODO,
    buyer_of,
    facts,
    group_note,
    groups,
    headline,
    nothing_to_do,
    part_of,
    title,
)
from batch_runner.report_html import render_html
from batch_runner.retry_file import RetryFile, read_retry_file
from batch_runner.unfinished import scan as scan_unfinished

REPORT_MD_NAME = "report.md"
REPORT_HTML_NAME = "report.html"


def _md_action(a: Action, buyers: Mapping[BuyerKey, Buyer] | None) -> str:
    parts = [_code(a.order_id or "(no order id)")]
    if (buyer := buyer_of(a, buyers)) is not None:
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


def render_markdown(records: Iterable[LedgerRecord], stats: RunStats | None, *,
                    unfinished: Unfinished | None = None,
                    buyers: Mapping[BuyerKey, Buyer] | None = None,
                    retry: str | None = None) -> str:
    """report.md: headline, what stopped early, action list grouped worst first, totals,
    reason codes, run facts."""
    records = list(records)
    s = summarize(records)
    stop = report_unfinished.stop_of(stats, unfinished)
    counts, todo = headline(s, stopped=stop is not None)
    out = [f"# {_md(title(s, stop, unfinished))}", "", f"{counts}  ", f"**{todo}**", ""]
    if stop is not None:
        out += report_unfinished.markdown(stop, unfinished, stats)
    out += [f"## What a person must do ({len(s.actions)})", ""]
    for outcome, group in groups(s.actions).items():
        out += [f"**{outcome.value}** ({group_note(group)}): {TODO[outcome]}", ""]
        out += [_md_action(a, buyers) for a in group]
        out.append("")
    if not s.actions:
        out += [nothing_to_do(stopped=stop is not None), ""]
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
