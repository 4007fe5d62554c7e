"""After a run: count what it left unfinished, record it, write the reports, compose the summary.

The order matters: run_stats.json gets the unfinished counts and the resume command before the
reports are rendered from it, so report.md, report.html, run_stats.json and stdout agree.
"""

from __future__ import annotations

import logging
from pathlib import Path

from batch_runner.core.model import OrderStatus
from batch_runner.core.stop import StopReason
from batch_runner.errors import InputError
from batch_runner.journal import Journal, locked
from batch_runner.ledger import LEDGER_NAME, RUN_STATS_NAME, read_ledger, read_run_stats
from batch_runner.ledger_xlsx import LEDGER_XLSX_NAME, write_ledger_xlsx
from batch_runner.report import write_reports
from batch_runner.retry_file import RetryFile, write_retry_file
from batch_runner.summary import Stop, need_a_person, run_summary
from batch_runner.unfinished import already_finished, record_in_stats, scan

log = logging.getLogger("batch_runner")


def write_spreadsheet_and_retry(out_dir: Path) -> RetryFile | None:
    """ledger.xlsx, and the retry file before the reports that name it. A retry file that cannot
    be written (its input moved or changed) is a warning: the run's own outcome stands."""
    write_ledger_xlsx(out_dir / LEDGER_NAME, out_dir / LEDGER_XLSX_NAME)
    try:
        return write_retry_file(out_dir)
    except InputError as exc:
        log.warning("no retry file: %s", exc)
        return None


def _ledger_counts(out_dir: Path) -> dict[OrderStatus, int]:
    counts: dict[OrderStatus, int] = {}
    for record in read_ledger(out_dir / LEDGER_NAME):
        counts[record.status] = counts.get(record.status, 0) + 1
    return counts


def finish_run(*, out_dir: Path, input_path: Path, interrupted: bool,
               stop_reason: StopReason | None, exit_code: int,
               resume_command: str) -> tuple[list[str], int]:
    """Write the reports of the run in `out_dir`; return the stdout summary and the exit status.

    A stop that came when every order was already final left nothing unfinished: the run is
    reported as finished, with the exit status of a finished run."""
    counts = _ledger_counts(out_dir)  # the ledger is the truth, also after a hard stop
    unfinished = scan(out_dir, input_path) if interrupted else None
    if unfinished is not None and unfinished.input_read and not unfinished.count:
        unfinished, interrupted = None, False
        exit_code = 1 if need_a_person(counts) else 0
    record_in_stats(out_dir, unfinished, resume_command, finished=not interrupted)
    retry = write_spreadsheet_and_retry(out_dir)
    md, html = write_reports(out_dir, unfinished=unfinished)
    stop = None
    if interrupted:
        stop = (Stop(kind=str(stop_reason.kind), message=stop_reason.message) if stop_reason
                else Stop(kind="interrupted", message="stopped at once by a second signal"))
    lines = run_summary(counts, exit_code=exit_code, out_dir=out_dir, report_md=md,
                        report_html=html, resume_command=resume_command,
                        unfinished=unfinished, stop=stop, retry=retry)
    return lines, exit_code


def finished_before(out_dir: Path, input_path: Path, *,
                    check_siblings: bool) -> dict[OrderStatus, int] | None:
    """The ledger's counts when a job run again is already finished, else None; read under the
    --out lock with the journal opened (which refuses another input's directory), so a rerun
    of a finished job sends nothing at all."""
    if not (out_dir / LEDGER_NAME).is_file() or already_finished(out_dir, input_path) is None:
        return None  # read only: an unfinished job's --out is not touched before its schema check
    with locked(out_dir):
        journal = Journal.open(out_dir, input_path, check_siblings=check_siblings)
        try:
            finished = already_finished(out_dir, input_path)
            if finished is not None:
                settle_finished(out_dir)
        finally:
            journal.close()
    return finished


def settle_finished(out_dir: Path) -> None:
    """A job found finished on a rerun whose last run did not record its end (killed after its
    last ledger line, or told to stop as its last order finished): record the end and render
    the reports again, so they do not keep saying it stopped early. Sends nothing."""
    stats = read_run_stats(out_dir / RUN_STATS_NAME)
    if stats is not None and stats.finished_at and not stats.interrupted:
        return
    record_in_stats(out_dir, None, "", finished=True)
    write_reports(out_dir)
