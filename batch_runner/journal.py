"""The write-ahead journal a run resumes from, and the lock on its --out directory.

Every createCart and submitCart is appended (flushed and fsynced) *before* it is sent, and its
answer after. A record torn by a crash mid-append is the last line without its newline: it is
cut off on open and treated as never written. Damage anywhere else, or a journal written for
another input file, is refused; the journal is never silently overwritten.

Records (one JSON object per line, key "t" names the kind):
    header     v, input, sha256                      first line
    create     o, g, idx, ts                          before createCart
    created    o, g, cart, failed=[[idx, code, msg]], ts  after it (ts: when Rye made the cart)
    create_lost o, g, why                             createCart may have reached the API but nothing
                                                      usable came back; creating again is safe (one
                                                      never sent is not recorded: the intent says it)
    expired    o, g, cart, ts                         before createCart again for a cart never
                                                      submitted and too old to submit (10 days,
                                                      or refused CART_EXPIRED_ERROR at its first
                                                      submitCart); frees its reservation
    priced     o, g, cart, cost                       the cart's price (cost: cur, total, sub, ship,
                                                      tax, est; or null), before its first submit
    submit     o, g, cart, ts[, reserve]              before submitCart; the first submit of a
                                                      priced cart carries reserve = [amount, cur]:
                                                      the spend it commits (core/budget.py), so
                                                      reservation and intent are one fsynced line
    submitted  o, g, cart, fate, decided              after it: fate "poll" | "resend" | "final";
                                                      decided = items settled by the answer
    cart_done  o, g, cart, results, replace, ts[, release]  the cart's items are decided;
                                                      release: nothing of it was charged, its
                                                      reservation is given back
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

from batch_runner.core.budget import Book
from batch_runner.core.money import CartCost
from batch_runner.errors import JournalError

JOURNAL_NAME = "journal.jsonl"
#: Records fsynced before append returns: the header, and each side effect before it is sent.
INTENTS = frozenset({"header", "create", "submit", "expired"})
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
    created: bool = False  #: a created record stands (a cart, or the items' creation failures)
    created_ts: float | None = None  #: wall-clock time of that createCart answer
    failed: list[tuple[int, str, str]] = field(default_factory=list)
    submits: int = 0
    last_submit_ts: float | None = None
    fate: str | None = None  #: of the latest submitCart: None (intent only), poll, resend, final
    decided: list[tuple[int, str, str | None, str | None]] = field(default_factory=list)
    done: dict[str, Any] | None = None  #: the cart_done record
    priced: bool = False  #: a priced record exists (its cost may still be None: unknown)
    cost: CartCost | None = None


@dataclass(slots=True)
class OrderState:
    carts: dict[int, CartState] = field(default_factory=dict)
    started_ts: float | None = None


def cost_record(cost: CartCost | None) -> dict[str, Any] | None:
    if cost is None:
        return None
    return {"cur": cost.currency, "total": cost.total, "sub": cost.subtotal,
            "ship": cost.shipping, "tax": cost.tax, "est": cost.estimated}


def _cost_of(raw: Any) -> CartCost | None:
    if raw is None:
        return None
    return CartCost(currency=str(raw["cur"]), total=raw["total"], subtotal=raw.get("sub"),
                    shipping=raw.get("ship"), tax=raw.get("tax"), estimated=bool(raw["est"]))


def _apply_money(book: Book, rec: dict[str, Any]) -> None:
    """Reservations: taken with a submit intent, given back with a cart_done that says so."""
    kind = rec["t"]
    if kind == "submit" and rec.get("reserve"):
        amount, currency = rec["reserve"]
        book.reserve(str(rec["cart"]), int(amount), str(currency))
    elif kind == "cart_done" and rec.get("release") and rec.get("cart"):
        book.release(str(rec["cart"]))
    elif kind == "expired" and rec.get("cart"):
        book.release(str(rec["cart"]))  # never submitted: nothing committed


def _created(cart: CartState, rec: dict[str, Any]) -> None:
    cart.cart_id = rec["cart"]
    cart.failed = [(int(i), str(c), str(m)) for i, c, m in rec["failed"]]
    cart.created = True
    cart.created_ts = rec.get("ts")


def _create_lost(cart: CartState, rec: dict[str, Any]) -> None:
    cart.cart_id = None


def _expired(cart: CartState, rec: dict[str, Any]) -> None:
    """The cart (never submitted) is forgotten as if never created: the generation creates anew."""
    cart.cart_id, cart.created, cart.created_ts = None, False, None
    cart.failed, cart.priced, cart.cost = [], False, None
    cart.submits, cart.last_submit_ts, cart.fate, cart.decided = 0, None, None, []


def _priced(cart: CartState, rec: dict[str, Any]) -> None:
    cart.priced = True
    cart.cost = _cost_of(rec["cost"])


_CREATION = {"created": _created, "create_lost": _create_lost, "expired": _expired,
             "priced": _priced}


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
    if kind in _CREATION:
        _CREATION[kind](cart, rec)
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

    def __init__(self, path: Path, handle: Any, states: dict[str, OrderState],
                 book: Book | None = None) -> None:
        self.path = path
        self._handle = handle
        self.states = states
        self.book = book or Book()  #: spend reservations of every run into this --out
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
            states, book = _replay(path, input_path, digest)
            handle = path.open("ab")
            return cls(path, handle, states, book)
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
            _apply_money(self.book, record)

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


def _replay(path: Path, input_path: Path, digest: str) -> tuple[dict[str, OrderState], Book]:
    cut_torn_tail(path)
    states: dict[str, OrderState] = {}
    book = Book()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                record = orjson.loads(raw)
                if number == 1:
                    _check_header(record, path, input_path, digest)
                else:
                    _apply(states, record)
                    _apply_money(book, record)
            except JournalError:
                raise
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise JournalError(
                    f"{path}:{number}: the journal is damaged ({exc}). It is left as it is; "
                    "nothing was sent. Move it aside only if you know which carts it names, or "
                    "run into a new --out."
                ) from None
    return states, book


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


def read_states(path: Path) -> tuple[str | None, str | None, dict[str, OrderState]]:
    """(input path, input sha256, state of every order) from the journal at `path`, for reports.

    Reads without writing: a torn last line is ignored, not cut, and the header is not held
    against an input file. The states include orders whose ledger line was written since.

    Raises:
        JournalError: a line other than a torn last one is not a journal record.
    """
    states: dict[str, OrderState] = {}
    header: dict[str, Any] = {}
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                break  # torn by a crash mid-append: never written
            try:
                record = orjson.loads(raw)
                if number == 1:
                    header = record if isinstance(record, dict) else {}
                else:
                    _apply(states, record)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise JournalError(f"{path}:{number}: the journal is damaged ({exc})") from None
    return header.get("input"), header.get("sha256"), states
