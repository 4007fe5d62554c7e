"""report.html: the same content as report.md, as one self-contained, printable page.

Inline CSS (report_style.py) and SVG charts (charts.py), nothing fetched; every string that came
from the input or the API is escaped. Pure: records and stats in, text out.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

from batch_runner import charts, report_unfinished
from batch_runner.buyers import Buyer, BuyerKey
from batch_runner.core.model import ItemOutcome, LedgerRecord, OrderStatus
from batch_runner.core.rollup import Action, Summary, summarize
from batch_runner.core.spending import MoneySummary, summarize_money
from batch_runner.core.unfinished import Unfinished
from batch_runner.ledger import RunStats
from batch_runner.money_report import MONEY_HEADER, TOP_HEADER, budget_line, money_rows, top_rows
from batch_runner.report_content import (
    COLOURS,
    TODO,
    buyer_of,
    facts,
    group_note,
    groups,
    headline,
    nothing_to_do,
    part_of,
    subtitle,
    title,
)
from batch_runner.report_style import CSS
from batch_runner.summary import Stop

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
    cells = [_codes([a.order_id or "(no order id)"]), _who(buyer_of(a, buyers)),
             _lines(detail), _codes(a.cart_ids), _codes(a.rye_order_ids, hyphens=True),
             _codes(a.products)]
    classes = ("", "", ' class="what"', "", "", "")
    return "<tr>" + "".join(f"<td{k}>{c}</td>" for k, c in zip(classes, cells, strict=True)) + "</tr>"


def _html_actions(s: Summary, buyers: Mapping[BuyerKey, Buyer] | None, *, stopped: bool) -> str:
    if not s.actions:
        return f'<p class="muted">{_e(nothing_to_do(stopped=stopped))}</p>'
    out = []
    for outcome, group in groups(s.actions).items():
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
    stop = report_unfinished.stop_of(stats, unfinished)
    counts, todo = headline(s, stopped=stop is not None)
    sub = subtitle(s, stats)
    stopped = report_unfinished.html_section(stop, unfinished, stats) if stop else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title(s, stop, unfinished))}</title><style>{CSS}</style></head><body>"
        f'<h1>{_html_title(s, stop, unfinished)}</h1><p class="sub">{_e(sub)}</p>'
        f'<p class="headline">{_e(counts)}</p>'
        f'<p class="headline"><strong>{_e(todo)}</strong></p><div class="cards">{_cards(s)}</div>'
        f"{stopped}<h2>What a person must do ({len(s.actions)})</h2>{_html_actions(s, buyers, stopped=stop is not None)}"
        f"{f'<p><strong>To send again:</strong> {_e(retry)}</p>' if retry else ''}"
        f"{_html_money(summarize_money(records), stats)}"
        f"<h2>Orders: {s.orders}</h2>{_charts(s, stats)}{_tables(s, stats)}</body></html>\n"
    )
