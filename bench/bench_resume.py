"""How long a rerun takes to replay a journal of N orders before sending anything (target: 100,000 in < 5 s).

Writes a journal as a finished-looking night would leave it (create, created, submit, submitted,
cart_done per order; every tenth order with a replacement cart), then times Journal.open.

    python bench/bench_resume.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the package, also when not installed

from results_file import record

from batch_runner.journal import JOURNAL_NAME, VERSION, Journal, file_sha256


def write_journal(out: Path, source: Path, n: int) -> int:
    records = [{"t": "header", "v": VERSION, "input": str(source), "sha256": file_sha256(source)}]
    with (out / JOURNAL_NAME).open("wb") as handle:
        for rec in records:
            handle.write(orjson.dumps(rec) + b"\n")
        lines = 1
        for i in range(n):
            o = f"O-{i}"
            for g in range(2 if i % 10 == 0 else 1):
                cart = f"C{i:08d}{g}"
                for rec in (
                    {"t": "create", "o": o, "g": g, "idx": [0, 1], "ts": 1.0},
                    {"t": "created", "o": o, "g": g, "cart": cart, "failed": []},
                    {"t": "submit", "o": o, "g": g, "cart": cart, "ts": 2.0},
                    {"t": "submitted", "o": o, "g": g, "cart": cart, "fate": "poll", "decided": []},
                    {"t": "cart_done", "o": o, "g": g, "cart": cart, "submitted": True,
                     "results": [[0, "PLACED", None, None, "R1", None]], "replace": []},
                ):
                    handle.write(orjson.dumps(rec) + b"\n")
                    lines += 1
    return lines


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        source = out / "orders.csv"
        source.write_text("order_id\n" + "\n".join(f"O-{i}" for i in range(n)) + "\n")
        lines = write_journal(out, source, n)
        started = time.perf_counter()
        with Journal.open(out, source) as journal:
            replayed = len(journal.states)
        seconds = time.perf_counter() - started
    record("resume", {"orders": n, "journal_lines": lines, "orders_replayed": replayed,
                      "replay_s": round(seconds, 2)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
