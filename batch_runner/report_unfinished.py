"""The report's "stopped early" section: how many orders are unfinished, where each stopped, and
the command that finishes them, in Markdown and HTML. Pure: values in, text out.

It comes right under the report's title, before the action list: a run that did not finish
must not read like one that did.
"""

from __future__ import annotations

import html

from batch_runner.core.unfinished import LABELS, Unfinished
from batch_runner.ledger import RunStats
from batch_runner.mdtext import code
from batch_runner.summary import Stop, n, points_text

#: When run_stats.json names no command (an older run, or one killed before it ended).
GENERIC_RESUME = "the same batch-runner command, with the same --out"


def stop_of(stats: RunStats | None, unfinished: Unfinished | None) -> Stop | None:
    """How the run stopped early, or None when it finished (or nothing says otherwise)."""
    if stats is not None and stats.interrupted:
        message = (stats.stop_reason or "stopped before every order was final").rstrip(".")
        return Stop(kind=stats.stop_kind or "interrupted", message=message[:1].upper() + message[1:])
    if unfinished is not None and unfinished.count:
        return Stop(kind="not finished",
                    message="The run ended before every order was final (killed, or still running)")
    return None


def _title(stop: Stop, unfinished: Unfinished | None) -> str:
    if unfinished is None or not (unfinished.count or unfinished.input_read):
        return "Stopped early"
    known = "" if unfinished.input_read else "at least "
    return f"Stopped early: {known}{n(unfinished.count)} order{'s' if unfinished.count != 1 else ''} unfinished"


def _command(stats: RunStats | None) -> str:
    return (stats.resume_command if stats and stats.resume_command else None) or GENERIC_RESUME


def markdown(stop: Stop, unfinished: Unfinished | None, stats: RunStats | None) -> list[str]:
    """The section as Markdown lines."""
    out = [f"## {_title(stop, unfinished)}", "",
           (f"**{stop.message}.** To finish, run the same command again; nothing finished is "
           "sent twice, carts in flight are polled, not resent:"), "",
           f"    {_command(stats)}", ""]
    if unfinished is None:
        return [*out, "The unfinished orders could not be listed (no readable journal in this directory).", ""]
    if unfinished.note:
        out += [f"({unfinished.note}.)", ""]
    out += [f"Where they stopped: {points_text(unfinished)}.", "",
            "| order | input line | where it stopped | cart |", "| --- | --- | --- | --- |"]
    for order in unfinished.listed:
        cart = code(order.cart_id) if order.cart_id else ""
        if cart and order.generation:
            cart += f" (replacement {order.generation})"
        out.append(f"| {code(order.order_id or '(no order id)')} | {order.line or ''} | "
                   f"{LABELS[order.point]} | {cart} |")
    if unfinished.unlisted:
        out.append(f"| … and {n(unfinished.unlisted)} more, not started | | | |")
    return [*out, ""]


def _e(text: str | None) -> str:
    return html.escape(text or "")


def _row(order_id: str | None, line: int | None, where: str, cart: str) -> str:
    return (f"<tr><td><code>{_e(order_id or '(no order id)')}</code></td><td>{line or ''}</td>"
            f"<td>{_e(where)}</td><td>{cart}</td></tr>")


def html_section(stop: Stop, unfinished: Unfinished | None, stats: RunStats | None) -> str:
    """The section as HTML, in a red-edged box."""
    head = (f'<section class="stopped"><h2>{_e(_title(stop, unfinished))}</h2>'
            f"<p><strong>{_e(stop.message)}.</strong> To finish, run the same command again; "
            "nothing finished is sent twice, carts in flight are polled, not resent:</p>"
            f"<pre>{_e(_command(stats))}</pre>")
    if unfinished is None:
        return head + "<p>The unfinished orders could not be listed (no readable journal here).</p></section>"
    rows = []
    for o in unfinished.listed:
        gen = f" (replacement {o.generation})" if o.generation else ""
        cart = f"<code>{_e(o.cart_id)}</code>{gen}" if o.cart_id else ""
        rows.append(_row(o.order_id, o.line, LABELS[o.point], cart))
    if unfinished.unlisted:
        rows.append(f'<tr><td colspan="4">… and {n(unfinished.unlisted)} more, not started</td></tr>')
    note = f'<p class="muted">{_e(unfinished.note)}.</p>' if unfinished.note else ""
    return (head + note + f"<p>Where they stopped: {_e(points_text(unfinished))}.</p>"
            '<div class="scroll"><table class="unfinished"><thead><tr><th>order</th>'
            "<th>input line</th><th>where it stopped</th><th>cart</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div></section>")
