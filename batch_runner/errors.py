"""The exceptions that stop a run. Outcomes of API calls are values, never exceptions.

    BatchRunnerError                 exit_code 1 (never raised itself)
    ├── UsageError                   2  bad command line
    ├── ConfigError                  2  bad job file or setting
    ├── InputError                   2  input file unusable as a whole
    ├── JournalError                 2  journal corrupt, foreign, or locked
    ├── SchemaMismatch               2  the API's live schema refuses a document; nothing sent
    └── RunAborted                   3  stopped early; a rerun into the same --out resumes
        ├── AuthRefused              3  the API refused the key (401/403)
        ├── CertificateRefused       3  the API's TLS certificate failed verification
        ├── TlsFailed                3  no TLS handshake (https to a plain-HTTP port, ...)
        ├── ProxyRefused             3  the proxy refused its login (407) or the API's host (403)
        ├── ApiUnreachable           3  no answer for the outage budget before anything was sent
        └── Interrupted              3  SIGINT / SIGTERM
"""

from __future__ import annotations


class BatchRunnerError(Exception):
    """Base of every error that ends the process with a message instead of a traceback."""

    exit_code = 1


class UsageError(BatchRunnerError):
    exit_code = 2


class ConfigError(BatchRunnerError):
    exit_code = 2


class InputError(BatchRunnerError):
    exit_code = 2


class JournalError(BatchRunnerError):
    exit_code = 2


class SchemaMismatch(BatchRunnerError):
    exit_code = 2


class RunAborted(BatchRunnerError):
    exit_code = 3


class AuthRefused(RunAborted):
    pass


class CertificateRefused(RunAborted):
    pass


class TlsFailed(RunAborted):
    pass


class ProxyRefused(RunAborted):
    pass


class ApiUnreachable(RunAborted):
    pass


class Interrupted(RunAborted):
    pass


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions at the leaves of `exc`, an exception group or not."""
    found: list[BaseException] = []
    pending = [exc]
    while pending:
        current = pending.pop()
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        else:
            found.append(current)
    return found


def ours_alone(exc: BaseException) -> BatchRunnerError | None:
    """The error to report when every leaf is one of ours (e.g. several AuthRefused), else None."""
    found = leaves(exc)
    ours = [e for e in found if isinstance(e, BatchRunnerError)]
    return ours[0] if ours and len(ours) == len(found) else None
