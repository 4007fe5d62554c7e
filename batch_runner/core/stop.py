"""Why a run stopped before every order was final: one vocabulary for runner, report and notices."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StopKind(StrEnum):
    INTERRUPTED = "interrupted"  #: SIGINT / SIGTERM
    OUTAGE = "outage"  #: the API gave no answer for the whole outage budget
    DEADLINE = "deadline"  #: --deadline (and its grace) passed
    FAILURE_STREAK = "failure_streak"  #: --stop-after-failures: the same code ended N orders in a row
    BUDGET = "budget"  #: --budget: the next cart would pass the night's spend limit


@dataclass(frozen=True, slots=True, kw_only=True)
class StopReason:
    kind: StopKind
    message: str  #: one sentence for a person, e.g. "deadline 06:00 reached"

    @property
    def exit_code(self) -> int:
        return 3  # every early stop resumes with the same command
