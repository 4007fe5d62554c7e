"""Where benchmark figures go: printed as one JSON line and appended to bench/results/NAME.jsonl."""

from __future__ import annotations

import json
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def record(name: str, figure: dict[str, object]) -> None:
    line = {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), **figure}
    print(json.dumps(line))
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / f"{name}.jsonl").open("a") as out:
        out.write(json.dumps(line) + "\n")
