"""jobs/nightly.sh, as cron runs it: the summary on stdout (cron's mail), the log in a file,
and on exit 2 or 3 the error line in the mail too. The real CLI against the real simulator."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import anyio

from batch_runner.simulator import SimConfig, running_simulator
from tests.notify_helpers import KEY, NETWORK_ENV, ROOT
from tests.pipeline.conftest import SIM_FAST, order, write_jsonl


def _tree(tmp_path: Path, job: str) -> Path:
    """/srv/batch-runner in small: jobs/nightly.sh, a job file, .venv/bin/batch-runner, an env file."""
    home = tmp_path / "srv"
    (home / "jobs").mkdir(parents=True)
    shutil.copy(ROOT / "jobs" / "nightly.sh", home / "jobs" / "nightly.sh")
    (home / "jobs" / "nightly.toml").write_text(job)
    venv_bin = home / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "batch-runner").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m batch_runner "$@"\n')
    (venv_bin / "batch-runner").chmod(0o755)
    (home / "env").write_text(f"RYE_API_KEY={KEY}\nRYE_SHOPPER_IP=203.0.113.1\n")
    return home


async def _cron(home: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NETWORK_ENV and k != "RYE_API_KEY"}
    env.update(BATCH_RUNNER_ENV=str(home / "env"), PYTHONPATH=str(ROOT))
    with anyio.fail_after(90):
        done = await anyio.run_process(["/bin/sh", str(home / "jobs" / "nightly.sh")], env=env,
                                       cwd=home, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def test_cron_mails_the_summary_and_the_log_goes_to_a_file(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [order("C-1", ("AMAZON", "B0CRON001"))])
    async with running_simulator(SimConfig(**SIM_FAST)) as sim:
        home = _tree(tmp_path, f'input = "{path}"\nout = "../runs/{{date}}"\napi_url = "{sim.url}"\n'
                               'strict_rps = 50.0\npoll_interval = 0.1\nprogress = "log"\n')
        code, stdout, stderr = await _cron(home)
    assert code == 0, stdout + stderr
    assert stderr == ""  # cron mails stdout and stderr alike: stderr went to the log
    assert stdout.splitlines()[0] == "batch-runner: 1 PLACED, nothing to do, exit 0"  # the subject
    assert " INFO " not in stdout
    [log] = (home / "logs").iterdir()
    assert " INFO progress:" in log.read_text()
    assert KEY not in stdout + log.read_text()


async def test_on_exit_2_the_mail_shows_the_error_line(tmp_path: Path) -> None:
    home = _tree(tmp_path, f'input = "{tmp_path / "missing.csv"}"\nout = "../runs/x"\n')
    code, stdout, _ = await _cron(home)
    assert code == 2
    assert "batch-runner exited 2; the last lines of" in stdout
    assert "batch-runner: error: " in stdout
    assert "missing.csv: no such file" in stdout
