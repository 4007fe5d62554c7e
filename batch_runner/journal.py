"""The write-ahead journal a run resumes from, and the lock on its --out directory.

Every createCart and submitCart is appended (flushed and fsynced) *before* it is sent, and its
answer after. A record torn by a crash mid-append is the last line without its newline: it is
cut off on open and treated as never written. Damage anywhere else, or a journal written for
another input file, is refused; the journal is never silently overwritten.

Records (one JSON object per line, key "t" names the kind):
    header     v, input, sha256                      first line
    create     o, g, idx, ts                          before createCart
    created    o, g, cart, failed=[[idx, code, msg]]  after it
    create_lost o, g, why                             createCart may have reached the API but nothing
                                                      usable came back; creating again is safe (one
                                                      never sent is not recorded: the intent says it)
    submit     o, g, cart, ts                         before submitCart
    submitted  o, g, cart, fate, decided              after it: fate "poll" | "resend" | "final";
                                                      decided = items settled by the answer
    cart_done  o, g, cart, results, replace, ts       the cart's items are decided
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import orjson

from batch_runner.errors import JournalError

JOURNAL_NAME = "journal.jsonl"
#: Records fsynced before append returns: the header, and each side effect before it is sent.
INTENTS = frozenset({"header", "create", "submit"})
LOCK_NAME = "lock"
VERSION = 1


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(slots=True)
class CartState:
    """What the journal knows of one cart (one generation of one order)."""

    generation: int
    indices: tuple[int, ...]
    cart_id: str | None = None
    failed: list[tuple[int, str, str]] = field(default_factory=list)
    submits: int = 0
    last_submit_ts: float | None = None
    fate: str | None = None  #: of the latest submitCart: None (intent only), poll, resend, final
    decided: list[tuple[int, str, str | None, str | None]] = field(default_factory=list)
    done: dict[str, Any] | None = None  #: the cart_done record


@dataclass(slots=True)
class OrderState:
    carts: dict[int, CartState] = field(default_factory=dict)
    started_ts: float | None = None


def _apply(states: dict[str, OrderState], rec: dict[str, Any]) -> None:
    kind = rec["t"]
    order = states.setdefault(rec["o"], OrderState())
    gen = int(rec["g"])
    if kind == "create":
        order.carts[gen] = CartState(generation=gen, indices=tuple(rec["idx"]))
        if order.started_ts is None:
            order.started_ts = rec.get("ts")
        return
    cart = order.carts.get(gen)
    if cart is None:
        raise ValueError(f"{kind} record for generation {gen} before its create record")
    if kind == "created":
        cart.cart_id = rec["cart"]
        cart.failed = [(int(i), str(c), str(m)) for i, c, m in rec["failed"]]
    elif kind == "create_lost":
        cart.cart_id = None
    elif kind == "submit":
        cart.submits += 1
        cart.last_submit_ts = float(rec["ts"])
        cart.fate = None
    elif kind == "submitted":
        cart.fate = str(rec["fate"])
        cart.decided.extend((int(i), str(o), c, r) for i, o, c, r in rec.get("decided", ()))
    elif kind == "cart_done":
        cart.done = rec
    else:
        raise ValueError(f"unknown record kind {kind!r}")


class Journal:
    """Append-only; intents fsynced as written, the rest with the next intent or on close.
    Open with `Journal.open(out_dir, input_path)`."""

    def __init__(self, path: Path, handle: Any, states: dict[str, OrderState]) -> None:
        self.path = path
        self._handle = handle
        self.states = states
        self.appended = 0

    def __repr__(self) -> str:
        return f"<Journal {self.path} orders={len(self.states)} appended={self.appended}>"

    @classmethod
    def open(cls, out_dir: Path, input_path: Path, *, check_siblings: bool = True) -> Journal:
        """Replay the journal in out_dir, or start one. `check_siblings=False` only for the demo,
        whose simulator is new each time, so placing the sample again is harmless."""
        path = out_dir / JOURNAL_NAME
        digest = file_sha256(input_path)
        if path.exists():
            states = _replay(path, input_path, digest)
            handle = path.open("ab")
            return cls(path, handle, states)
        if check_siblings:
            _refuse_second_placement(out_dir, input_path, digest)
        handle = path.open("ab")
        journal = cls(path, handle, {})
        journal.append({"t": "header", "v": VERSION, "input": str(input_path), "sha256": digest})
        return journal

    def append(self, record: dict[str, Any]) -> None:
        """Write `record` through to the kernel before returning, so it survives the process
        being killed. A record announcing a side effect (INTENTS) is also fsynced, so it survives
        power loss before the side effect happens; the others (answers, decisions) become durable
        with the next intent or on close, and losing them only means polling again on resume."""
        self._handle.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        self._handle.flush()
        if record["t"] in INTENTS:
            os.fsync(self._handle.fileno())
        self.appended += 1
        if record["t"] != "header":
            _apply(self.states, record)

    def close(self) -> None:
        """Sync what no later intent will: the answers and decisions since the last one."""
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
        self._handle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def cut_torn_tail(path: Path) -> int:
    """Truncate a last line that has no newline (a torn append). Returns bytes removed."""
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("r+b") as handle:
        back = min(size, 1 << 16)
        while True:
            handle.seek(size - back)
            tail = handle.read(back)
            if tail.endswith(b"\n"):
                return 0
            cut = tail.rfind(b"\n")
            if cut >= 0 or back == size:
                keep = size - back + cut + 1
                handle.truncate(keep)
                return size - keep
            back = min(size, back * 2)


def _replay(path: Path, input_path: Path, digest: str) -> dict[str, OrderState]:
    cut_torn_tail(path)
    states: dict[str, OrderState] = {}
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                record = orjson.loads(raw)
                if number == 1:
                    _check_header(record, path, input_path, digest)
                else:
                    _apply(states, record)
            except JournalError:
                raise
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise JournalError(
                    f"{path}:{number}: the journal is damaged ({exc}). It is left as it is; "
                    "nothing was sent. Move it aside only if you know which carts it names, or "
                    "run into a new --out."
                ) from None
    return states


def _refuse_second_placement(out_dir: Path, input_path: Path, digest: str) -> None:
    """A new --out for an input that a sibling run directory already holds would place it all
    again (e.g. a job file's out = "runs/{date}" rerun after midnight). Refuse, naming that run."""
    for other in sorted(out_dir.parent.glob(f"*/{JOURNAL_NAME}")):
        if other.parent.resolve() == out_dir.resolve():
            continue
        try:
            with other.open("rb") as handle:
                header = orjson.loads(handle.readline())
        except (OSError, orjson.JSONDecodeError):
            continue
        if isinstance(header, dict) and header.get("sha256") == digest:
            raise JournalError(
                f"{input_path} was already run into {other.parent}. Rerun with "
                f"--out {other.parent} to resume it (nothing finished is sent again); a new "
                "--out would place every order a second time. Move that directory away first "
                "only if you really mean to place these orders again."
            )


def _check_header(record: Any, path: Path, input_path: Path, digest: str) -> None:
    if not isinstance(record, dict) or record.get("t") != "header":
        raise JournalError(f"{path}:1: not a batch-runner journal; use another --out")
    if record.get("v") != VERSION:
        raise JournalError(f"{path}: journal version {record.get('v')} is not {VERSION}")
    if record.get("sha256") != digest:
        raise JournalError(
            f"{path.parent} holds the run of another input file ({record.get('input')}); "
            f"{input_path} differs from it. Use a new --out for a new file (a changed file "
            "cannot be resumed safely)."
        )


@contextlib.contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on out_dir for the life of the run (released even on kill -9)."""
    path = out_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise JournalError(
                f"{out_dir} is in use by another batch-runner (pid {owner}). Wait for it to "
                "finish, or use another --out."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
