"""Do createCart and submitCart share one Strict bucket? What two answers can prove. Pure.

Two answers, one from each operation, sent close together: if they drew from one token bucket,
their `Ratelimit-Remaining` values are tied: the later request sees the earlier one's remainder,
less one, less whatever other requests took between them, plus the refill in between. Values
that no single bucket could produce prove two buckets. Nothing here ever proves one bucket:
values consistent with sharing are also what two buckets at similar levels show, so the caller
keeps assuming "shared" (the safe side) and keeps looking at later answers. (The runner needs
no special probe: while sharing is unknown it lets requests go only when one shared bucket
would have room for them too, and the first create and submit of a run usually settle it.)

The same rules hold for fixed windows, provided no window boundary falls between the two
(`proves_separate_views`): inside one window a shared counter also hands out one value per
request and never refills, so what one token bucket cannot give, one window cannot either.

`Remaining` is a whole number: each reading is within one token of the bucket's real level, and
the difference and 429 rules allow for that whichever way it rounds. The both-full rule assumes
it rounds down, as the simulator does and as a count of whole tokens left naturally is.
"""

from __future__ import annotations

from dataclasses import dataclass

from batch_runner.core.rate_budget import Shape, View, Windows


@dataclass(frozen=True, slots=True)
class ProbeAnswer:
    status: int
    remaining: int | None
    limit: int | None


def proves_separate(
    first: ProbeAnswer, second: ProbeAnswer, *, refill: float, others: int
) -> bool:
    """True when one shared bucket could not have given both answers.

    `refill`: tokens a bucket at the Strict rate gains over the span from sending the pair to
    the last answer. `others`: Strict requests other than the pair that may have been processed
    at the server between them (in flight when the pair was sent, or sent before it ended).
    """
    answers = (first, second)
    if all(a.status == 200 for a in answers):
        return _both_full(first, second, refill) or _too_far_apart(first, second, refill, others)
    limited = [a for a in answers if a.status == 429]
    accepted = [a for a in answers if a.status == 200]
    if len(limited) == 1 and len(accepted) == 1 and accepted[0].remaining is not None:
        # One bucket refusing one request (fewer than one token) left fewer than
        # 1 + others + refill after the other; one more token for the reading.
        return accepted[0].remaining >= 2 + others + refill
    return False


def _both_full(first: ProbeAnswer, second: ProbeAnswer, refill: float) -> bool:
    """Each answer shows a bucket that was full before it: one bucket can be full only once
    unless a whole token came back in between."""
    if refill >= 1.0:
        return False
    return all(
        a.remaining is not None and a.limit is not None and a.remaining >= a.limit - 1
        for a in (first, second)
    )


def _too_far_apart(first: ProbeAnswer, second: ProbeAnswer, refill: float, others: int) -> bool:
    if first.remaining is None or second.remaining is None:
        return False
    # One bucket: the real levels differ by at most 1 (the earlier of the pair) + others +
    # refill, and two readings add less than one token between them.
    return abs(first.remaining - second.remaining) > 2 + others + refill


def proves_separate_views(a: View, b: View, *, others: int, rps: float, shape: Shape,
                          windows: Windows | None = None) -> bool:
    """Two answers of different operations, whatever their timing: True when neither one token
    bucket nor one fixed window (those the shape leaves possible) could have given both.

    `others`: Strict requests other than these two that may have been processed between them.
    """
    if a.operation == b.operation:
        return False
    start, end = min(a.sent, b.sent), max(a.received, b.received)
    windows = windows or Windows.aligned(rps)
    if shape is not Shape.TOKEN_BUCKET and not windows.surely_one(start, end):
        return False  # a window may have started between them: any two values are possible
    refill = 0.0 if shape is Shape.FIXED_WINDOW else rps * (end - start)
    return proves_separate(_answer(a), _answer(b), refill=refill, others=others)


def may_prove_separate(a: View, b: View, *, rps: float, shape: Shape) -> bool:
    """False when proves_separate_views(a, b, ...) is False whatever `others` is: the cheap
    part of its rules, for the runner, which weighs each answer against every recent one of
    the other operation (at 5,000/s, fifty of them per answer). True: ask proves_separate_views.

    Outside a fixed window the pair's refill is at least one token for any two answers more
    than one token's time apart, which rules out both-full; the other rules need a difference
    (or, beside a 429, a remainder) above 2 + refill, which `others` only raises."""
    if a.operation == b.operation:
        return False
    if shape is Shape.FIXED_WINDOW:
        return True
    refill = rps * (max(a.received, b.received) - min(a.sent, b.sent))
    if refill < 1.0:
        return True
    if a.limited and b.limited:
        return False
    if a.limited or b.limited:
        accepted = b if a.limited else a
        return accepted.remaining >= 2 + refill
    return abs(a.remaining - b.remaining) > 2 + refill


def _answer(view: View) -> ProbeAnswer:
    return ProbeAnswer(429 if view.limited else 200, view.remaining, view.limit)
