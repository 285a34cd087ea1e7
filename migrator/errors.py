"""One error hierarchy for everything a user can get wrong or the world can break.

Each class carries the process exit code; ``migrator.cli`` catches ``MigratorError`` once and prints
its message (never a traceback). Messages say what was wrong and how to fix it.

Exit codes (documented in the README):

* 0 success
* 1 differences found (validate)
* 2 bad configuration or usage: nothing was started or written
* 3 runtime failure (unreachable host, missing table, failed writes, ...)
* 4 interrupted by SIGINT/SIGTERM after the final savepoint was written
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_DIFFERENCES = 1
EXIT_CONFIG = 2
EXIT_RUNTIME = 3
EXIT_INTERRUPTED = 4


class MigratorError(Exception):
    """Base class: a failure with a user-facing message and an exit code."""

    exit_code = EXIT_RUNTIME

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The text shown to the user."""
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ConfigError(MigratorError):
    """The configuration (or command line) is invalid; nothing was started.

    ``problems`` holds every problem found, as ``(dotted.path, message)`` pairs, so the user can
    fix them all in one go.
    """

    exit_code = EXIT_CONFIG

    def __init__(self, problems: list[tuple[str, str]] | str, *, source: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [("", problems)]
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        lines = [f"invalid configuration{where} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
        for path, msg in problems:
            lines.append(f"  - {path}: {msg}" if path else f"  - {msg}")
        super().__init__("\n".join(lines))


class UsageError(MigratorError):
    """The command line is wrong."""

    exit_code = EXIT_CONFIG


class SavepointMismatch(ConfigError):
    """A savepoint was written for another source, target or ring splitting."""


class RuntimeFailure(MigratorError):
    """Something outside the config failed: a host is unreachable, a table is missing, writes failed."""

    exit_code = EXIT_RUNTIME


class SchemaMismatch(RuntimeFailure):
    """The target table exists with a schema the source rows cannot be written into."""


class Interrupted(MigratorError):
    """The run was stopped by a signal; the final savepoint has been written."""

    exit_code = EXIT_INTERRUPTED
