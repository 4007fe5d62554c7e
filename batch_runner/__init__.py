"""batch-runner: places a night of orders through Rye and leaves a ledger."""

__version__ = "0.1.0"
