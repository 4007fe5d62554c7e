"""Where a server's fixed windows start on our clock, learned from its answers. Pure.

A gateway counting in fixed windows starts them on *its* clock's whole seconds, which may be
tenths of a second off ours (a cron box without NTP, a gateway's own drift). Assumed aligned
when they are not, a burst sent as "our" window begins lands in the server's old, full window:
429s every second. So the start is learned, as a span [lo, hi] of offsets from our whole
seconds (`rate_budget.Windows`), from pairs of answers of one bucket, `a` then `b` (`b` sent
after `a` came back), while the shape is known to be fixed windows:

- `b` shows more room than `a`: only a new window gives room back, so one began between `a`
  being sent and `b` coming back (`rolled_over`).
- `b` shows more requests counted than could have been counted since a window began between
  them: the same window, so none began between `a` coming back and `b` being sent (`stayed`).

Until the first roll-over is seen, windows are assumed to start on our whole seconds (a run's
first answers must settle the shape and the sharing, and at 1 request/s there are few), and
each assumed window's first request goes alone: its answer shows whether the server's window
has really begun, before the rest follow; a wrong assumption costs at most a 429 at the start. Each
observation narrows the span; one that contradicts it (the server's clock stepped) starts it
again from that observation, as does the first roll-over after a 429 (`doubt`).
rate_budget's phase probe sends a window's last request in the middle of the span, so the span
halves with every window until it is a few milliseconds wide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from batch_runner.core.rate_budget import ALIGN_MARGIN_S, Windows

#: Observations are widened by this much: the server's clock read and ours are not instant.
MARGIN_S = 0.002


@dataclass(slots=True)
class WindowPhase:
    length: float
    lo: float = -ALIGN_MARGIN_S
    hi: float = ALIGN_MARGIN_S
    #: False: the span is assumed (our whole seconds) or doubted: the next roll-over sets it
    learned: bool = False

    def windows(self) -> Windows:
        return Windows(self.length, self.lo, self.hi, known=self.learned)

    def rolled_over(self, after: float, before: float) -> None:
        """A window began in (after, before]."""
        after, before = after - MARGIN_S, before + MARGIN_S
        if before - after >= self.length:
            return  # any offset fits: nothing learned
        shift = self._nearest((after + before) / 2)
        lo, hi = after + shift, before + shift
        if self.learned:
            for k in (0, -1, 1):
                both = max(lo + k * self.length, self.lo), min(hi + k * self.length, self.hi)
                if both[0] <= both[1]:
                    lo, hi = both
                    break
        self.lo, self.hi, self.learned = lo, hi, True
        self._recentre()

    def stayed(self, after: float, before: float) -> None:
        """No window began in (after, before]: cut that part off the span's ends."""
        after, before = after + MARGIN_S, before - MARGIN_S
        if not self.learned or before <= after:
            return
        shift = self._nearest((after + before) / 2)
        cut_lo, cut_hi = after + shift, before + shift
        for k in (-1, 0, 1):  # the cut as seen from the span's period
            lo, hi = cut_lo + k * self.length, cut_hi + k * self.length
            if lo <= self.lo <= hi < self.hi:
                self.lo = hi
            elif self.lo < lo <= self.hi <= hi:
                self.hi = lo
            elif lo <= self.lo and self.hi <= hi:
                self.learned = False  # contradicted: the next roll-over says where it is
                return

    def doubt(self) -> None:
        """A 429: what was learned may be wrong; the next roll-over sets the span anew."""
        self.learned = False

    def _nearest(self, t: float) -> float:
        """The multiple of `length` that brings `t` nearest to the span's middle."""
        middle = (self.lo + self.hi) / 2
        return round((middle - t) / self.length) * self.length

    def _recentre(self) -> None:
        """Keep the span's offsets within half a window of 0 (they are defined modulo it)."""
        k = math.floor(((self.lo + self.hi) / 2 + self.length / 2) / self.length)
        self.lo -= k * self.length
        self.hi -= k * self.length
