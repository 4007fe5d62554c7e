"""The journal: durable replay, torn tails forgiven, damage and foreign jobs refused, one run per --out."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from batch_runner.errors import JournalError
from batch_runner.journal import Journal, locked


def make_input(tmp_path: Path, text: str = "order_id\nA\n") -> Path:
    path = tmp_path / "in.csv"
    path.write_text(text)
    return path


def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return out


def fill(journal: Journal) -> None:
    journal.append({"t": "create", "o": "A", "g": 0, "idx": [0, 1], "ts": 1.0})
    journal.append({"t": "created", "o": "A", "g": 0, "cart": "C1", "failed": [[1, "PRODUCT_NOT_FOUND", "gone"]]})
    journal.append({"t": "submit", "o": "A", "g": 0, "cart": "C1", "ts": 2.0})


def test_reopen_replays_the_same_state(tmp_path: Path) -> None:
    """After reopening, the state of every cart is what was appended."""
    source = make_input(tmp_path)
    journal = Journal.open(out_dir(tmp_path), source)
    fill(journal)
    journal.close()
    with Journal.open(out_dir(tmp_path), source) as reopened:
        cart = reopened.states["A"].carts[0]
    assert (cart.cart_id, cart.submits, cart.fate) == ("C1", 1, None)
    assert cart.failed == [(1, "PRODUCT_NOT_FOUND", "gone")]


@pytest.mark.parametrize("keep", [1, 10, 30])
def test_a_torn_last_record_is_treated_as_never_written(tmp_path: Path, keep: int) -> None:
    """A crash mid-append leaves part of a line; reopening drops it and keeps the rest."""
    source = make_input(tmp_path)
    journal = Journal.open(out_dir(tmp_path), source)
    fill(journal)
    journal.close()
    path = out_dir(tmp_path) / "journal.jsonl"
    whole = path.read_bytes()
    last_start = whole.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(whole[: last_start + keep])
    with Journal.open(out_dir(tmp_path), source) as reopened:
        cart = reopened.states["A"].carts[0]
    assert cart.submits == 0  # the submit record was torn: as if never written
    assert cart.cart_id == "C1"


def test_damage_in_the_middle_is_refused_with_file_and_line(tmp_path: Path) -> None:
    """A corrupt line that is not the last one stops the run; nothing is overwritten."""
    source = make_input(tmp_path)
    journal = Journal.open(out_dir(tmp_path), source)
    fill(journal)
    journal.close()
    path = out_dir(tmp_path) / "journal.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = b"{garbage\n"
    path.write_bytes(b"".join(lines))
    before = path.read_bytes()
    with pytest.raises(JournalError, match=r"journal.jsonl:3"):
        Journal.open(out_dir(tmp_path), source)
    assert path.read_bytes() == before


def test_a_journal_of_another_input_file_is_refused(tmp_path: Path) -> None:
    """Running a different input into an --out that holds another job is refused."""
    Journal.open(out_dir(tmp_path), make_input(tmp_path, "order_id\nA\n")).close()
    with pytest.raises(JournalError, match="another input file"):
        Journal.open(out_dir(tmp_path), make_input(tmp_path, "order_id\nB\n"))


def test_a_second_run_into_the_same_out_is_refused_with_the_owner_pid(tmp_path: Path) -> None:
    """The lock is held by another process: the second run names its pid and stops."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         ("import sys,time; from pathlib import Path; from batch_runner.journal import locked\n"
         "with locked(Path(sys.argv[1])):\n print('locked', flush=True); time.sleep(30)"), str(tmp_path)],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"locked"
        with pytest.raises(JournalError, match=f"pid {holder.pid}"), locked(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    deadline = time.monotonic() + 5
    while True:  # the kernel drops the lock with the process, even after kill -9
        try:
            with locked(tmp_path):
                break
        except JournalError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_a_new_out_beside_a_run_of_the_same_input_is_refused(tmp_path: Path) -> None:
    """runs/{date} rerun after midnight: the same input in a sibling directory is named, not placed again."""
    source = make_input(tmp_path)
    yesterday = tmp_path / "runs" / "2026-11-23"
    yesterday.mkdir(parents=True)
    Journal.open(yesterday, source).close()
    today = tmp_path / "runs" / "2026-11-24"
    today.mkdir()
    with pytest.raises(JournalError, match="2026-11-23"):
        Journal.open(today, source)
    assert not (today / "journal.jsonl").exists()
    other = make_input(tmp_path / "runs", "order_id\nZ\n")
    with Journal.open(today, other):
        pass  # a different file is a different job


def test_intents_are_fsynced_before_append_returns_and_answers_reach_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create or submit intent is on disk before its request can be sent; an answer record is
    in the file (a killed process loses nothing) and made durable by the next intent's fsync."""
    import os

    source = make_input(tmp_path)
    journal = Journal.open(out_dir(tmp_path), source)
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        lines = (tmp_path / "out" / "journal.jsonl").read_bytes().splitlines()
        synced.append(lines[-1].decode())  # what the fsync made durable ends with this line
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    fill(journal)
    text = (tmp_path / "out" / "journal.jsonl").read_text()
    assert [line.split('"t":')[1].split(",")[0] for line in synced] == ['"create"', '"submit"']
    journal.append({"t": "submitted", "o": "A", "g": 0, "cart": "C1", "fate": "poll", "decided": []})
    journal.close()  # no intent follows the last answer: closing makes it durable
    assert synced[-1].startswith('{"t":"submitted"')
    assert '"t":"created"' in text  # written through at once, synced with the submit intent
    assert text.index('"t":"created"') < text.index('"t":"submit"')
