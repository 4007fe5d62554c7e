#!/bin/sh
# batch-runner's nightly run for cron: the log goes to a file, the summary to stdout, which cron
# mails to MAILTO. On exit 2 or 3 the mail also gets the last lines of the log (they hold the
# error line). Log lines are redacted: no key, no URL token, no proxy password, no buyer data.
#
#   0 22 * * * /srv/batch-runner/jobs/nightly.sh            (see crontab.example)
#   /srv/batch-runner/jobs/nightly.sh --out runs/2026-11-24  (resume that night by hand)
#
# Extra arguments go to `batch-runner run`. The env file (chmod 600) holds RYE_API_KEY and, if
# used, RYE_SHOPPER_IP, BATCH_RUNNER_PING_URL, BATCH_RUNNER_NOTIFY_URL, HTTPS_PROXY, NO_PROXY.
set -u
cd "$(dirname "$0")/.." || exit 2
set -a
. "${BATCH_RUNNER_ENV:-/etc/batch-runner.env}"
set +a
mkdir -p logs
log="logs/nightly-$(date +%F).log"
.venv/bin/batch-runner run --job jobs/nightly.toml "$@" 2>>"$log"
status=$?
if [ "$status" -ge 2 ]; then
    echo "batch-runner exited $status; the last lines of $PWD/$log:"
    tail -n 15 "$log"
fi
exit "$status"
