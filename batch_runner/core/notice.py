"""What the night says about itself when it ends: the webhook's JSON and the ping's path.

Pure: a ledger Summary (core.rollup) and how the run ended in, a dict (for --notify-url) and a
few strings out. notify.py sends them; nothing here knows about HTTP, files or the clock.
The `text` field is the whole message for a person, so a Slack or Teams incoming webhook that
shows only `text` shows everything that matters; its first line works as a subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from batch_runner.core.model import ItemOutcome, OrderStatus
from batch_runner.core.rollup import Action, Summary

#: What each exit status means for the person on call (SPEC "Command line").
EXIT_MEANING: dict[int, str] = {
    0: "every order PLACED",
    1: "finished; some orders are not PLACED: see the report",
    2: "bad usage, configuration or input file: fix it and run again",
    3: "stopped early: the same command resumes where it stopped",
}
#: Actions listed in the notice (the report has all of them).
FIRST_ACTIONS = 5
#: Free text (reasons) is cut to this many characters in a notice.
MAX_REASON = 200
NOTICE_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Ending:
    """How the run ended, as far as a notice is concerned."""

    exit_code: int
    stop_kind: str | None = None  #: core.stop.StopKind value, or "error" / "crash"
    stop_reason: str | None = None  #: one sentence (an error message already redacted)
    crashed: bool = False  #: a bug ended the process (traceback): a failure whatever the code

    @property
    def failed(self) -> bool:
        """A failure for healthchecks.io: exit 2 or 3, or a crash."""
        return self.crashed or self.exit_code >= 2


def ping_suffix(ending: Ending) -> str:
    """healthchecks.io's convention: URL on success (exit 0 or 1), URL/fail on failure."""
    return "/fail" if ending.failed else ""


def _n(value: int) -> str:
    return f"{value:,}"


def subject(summary: Summary | None, ending: Ending) -> str:
    """One line, e.g. `batch-runner: 9,812 PLACED, 23 need a person, exit 1`."""
    parts: list[str] = []
    if ending.crashed:
        parts.append("crashed")
    elif ending.stop_kind:
        parts.append(f"stopped ({ending.stop_kind})")
    if summary is not None and summary.orders:
        parts.append(f"{_n(summary.by_status[OrderStatus.PLACED])} PLACED")
        if summary.orders_to_act_on:
            parts.append(f"{_n(summary.orders_to_act_on)} need a person")
    elif ending.exit_code >= 2 or ending.crashed:
        parts.append("nothing in the ledger")
    else:
        parts.append("no orders")
    return f"batch-runner: {', '.join(parts)}, exit {ending.exit_code}"


def _cut(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_REASON else flat[: MAX_REASON - 1] + "\u2026"


def action_dict(action: Action, todo: Mapping[ItemOutcome, str]) -> dict[str, object]:
    return {
        "outcome": action.outcome.value, "order_id": action.order_id,
        "todo": todo.get(action.outcome, ""), "reasons": [_cut(r) for r in action.reasons],
        "where": action.where, "cart_ids": list(action.cart_ids),
        "rye_order_ids": list(action.rye_order_ids), "products": list(action.products),
    }


def _action_line(action: Action, todo: Mapping[ItemOutcome, str]) -> str:
    ids = [f"cart {c}" for c in action.cart_ids] or ([action.where] if action.where else [])
    what = "; ".join(_cut(r) for r in action.reasons[:1])
    parts = [f"{action.outcome.value} {action.order_id or '(no order id)'}", *ids, what]
    line = " \u00b7 ".join(p for p in parts if p)
    hint = todo.get(action.outcome)
    return f"\u2022 {line}" + (f" \u2192 {hint}" if hint else "")


def _slack_escape(text: str) -> str:
    """Slack reads <, > and & as markup; these three are all it asks to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def notice_text(summary: Summary | None, ending: Ending, *, todo: Mapping[ItemOutcome, str],
                report: str | None) -> str:
    """The readable message: subject, counts, why it stopped, the first actions, the report."""
    lines = [subject(summary, ending)]
    if summary is not None and summary.orders:
        counts = ", ".join(f"{_n(summary.by_status[s])} {s.value}" for s in OrderStatus
                           if summary.by_status[s])
        lines.append(f"{_n(summary.orders)} orders: {counts}")
    if ending.stop_reason:
        lines.append(f"Why it stopped: {_cut(ending.stop_reason)}")
    lines.append(f"Exit {ending.exit_code}: {EXIT_MEANING.get(ending.exit_code, 'see the log')}")
    if summary is not None and summary.actions:
        lines.append(f"First to do ({min(FIRST_ACTIONS, len(summary.actions))} of "
                     f"{_n(len(summary.actions))}, worst first):")
        lines += [_action_line(a, todo) for a in summary.actions[:FIRST_ACTIONS]]
    if report:
        lines.append(f"Report: {report}")
    return _slack_escape("\n".join(lines))


def notice(summary: Summary | None, ending: Ending, *, todo: Mapping[ItemOutcome, str],
           report: str | None, out_dir: str | None, input_file: str | None,
           host: str | None = None) -> dict[str, object]:
    """The JSON object POSTed to --notify-url."""
    actions = summary.actions if summary is not None else ()
    return {
        "text": notice_text(summary, ending, todo=todo, report=report),
        "subject": subject(summary, ending),
        "version": NOTICE_VERSION,
        "exit_code": ending.exit_code,
        "exit_meaning": EXIT_MEANING.get(ending.exit_code),
        "failed": ending.failed,
        "stop": ({"kind": ending.stop_kind, "reason": ending.stop_reason}
                 if ending.stop_kind or ending.stop_reason else None),
        "orders": summary.orders if summary is not None else 0,
        "counts": {s.value: summary.by_status[s] for s in OrderStatus} if summary else {},
        "orders_to_act_on": summary.orders_to_act_on if summary is not None else 0,
        "actions_total": len(actions),
        "actions": [action_dict(a, todo) for a in actions[:FIRST_ACTIONS]],
        "report": report, "out_dir": out_dir, "input": input_file, "host": host,
    }
