"""The ``greenroom`` subcommands (``supervisor.cli`` imports each only when it is invoked)."""
