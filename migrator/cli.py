"""Command line: ``migrator check|migrate|validate --config FILE``, ``migrator package``, ``migrator emr ...``.

A thin layer over the programmatic API (``migrator.check``, ``migrator.migrate``, ``migrator.validate``,
``migrator.deploy``). Every user-facing failure is a ``MigratorError`` caught
here once and printed as a message with its documented exit code (see ``migrator.errors``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from migrator import __version__
from migrator.deploy import emr
from migrator.errors import (
    EXIT_DIFFERENCES,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUNTIME,
    ConfigError,
    MigratorError,
    UsageError,
)

if TYPE_CHECKING:
    from migrator.config import LoadedConfig

log = logging.getLogger("migrator")

CONFIG_CONF_KEYS = ("spark.migrator.config", "spark.scylla.config")


def build_parser() -> argparse.ArgumentParser:
    """The ``migrator`` argument parser: ``check``, ``migrate``, ``validate``, ``package`` and ``emr``."""
    parser = argparse.ArgumentParser(
        prog="migrator", description="Migrate and validate Cassandra/ScyllaDB tables."
    )
    parser.add_argument("--version", action="version", version=f"migrator {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", "-c", help="YAML config (or a savepoint to resume from); "
                        "also read from --conf spark.scylla.config=PATH")
    common.add_argument("--log-level", default=os.environ.get("MIGRATOR_LOG_LEVEL", "INFO"),
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    spark_opts = argparse.ArgumentParser(add_help=False)
    spark_opts.add_argument(
        "--master", help="Spark master URL (default: as given by spark-submit, else local[*])"
    )
    spark_opts.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                            help="extra Spark setting (repeatable)")
    spark_opts.add_argument("--fresh", action="store_true",
                            help="start over instead of resuming the newest savepoint of the same job")
    sub.add_parser(
        "check", parents=[common], help="validate the config, connect to both sides, print the plan"
    )
    sub.add_parser("migrate", parents=[common, spark_opts], help="copy the source table into the target")
    validate = sub.add_parser("validate", parents=[common, spark_opts],
                              help="compare source and target row by row; exit 1 if they differ")
    validate.add_argument("--report", metavar="DIR", help="write report.json, report.txt and report.html into DIR")
    validate.add_argument("--differences", metavar="DIR",
                          help="write every difference found into DIR, one JSON-lines file per range "
                          "(executors write it: use a shared filesystem on a cluster)")
    sub.add_parser("diff", parents=[common, spark_opts],
                   help="compare dev (the source) with production (the target): rows added, removed and in "
                   "conflict, and each conflict's decision, written into reconcile.output; exit 1 if they differ")
    sub.add_parser("schema-diff", parents=[common],
                   help="compare dev's table schema with production's; exit 1 on drift")
    sub.add_parser("schema-migrate", parents=[common],
                   help="write the statements that bring production's schema in line with dev's, for review")
    resolve = sub.add_parser("resolve-conflicts", parents=[common],
                             help="decide, one by one, the conflicts no strategy decided; rebuilds the pack; "
                             "exit 1 while any is undecided")
    resolve.add_argument("--auto", action="store_true",
                         help="ask nothing: apply the strategies and recorded decisions (for CI)")
    resolve.add_argument("--resume", action="store_true", help="skip conflicts that already have a decision")
    apply = sub.add_parser("apply", parents=[common],
                           help="make a reviewed pack's changes to production (the target), checking each row "
                           "first; exit 1 if rows changed since the diff were skipped")
    apply.add_argument("--pack", required=True, metavar="DIR", help="the pack folder written by migrator diff")
    apply.add_argument("--dry-run", action="store_true", help="read production and report, write nothing")
    apply.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    package = sub.add_parser("package", help="build dist/migrator.zip, the entry script and a packed environment "
                             "for spark-submit")
    package.add_argument("--dist", default="dist", metavar="DIR", help="output folder (default: dist)")
    package.add_argument("--no-env", action="store_true",
                         help="skip the packed environment (workers already have the dependencies)")
    package.add_argument("--python", metavar="PATH",
                         help="interpreter for the packed environment (default: this one); every node needs "
                         "it at the same path")
    package.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    emr.add_parser(sub)
    return parser


def _spark_conf(pairs: Sequence[str]) -> dict[str, str]:
    conf = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--conf expects KEY=VALUE, got {pair!r}")
        conf[key.strip()] = value
    return conf


def _config_path(args: argparse.Namespace, conf: dict[str, str]) -> str:
    if args.config:
        return str(args.config)
    for key in CONFIG_CONF_KEYS:
        if conf.get(key):
            return conf[key]
    from_env = _submitted_config()
    if from_env:
        return from_env
    raise UsageError("no config given", hint="pass --config FILE (or --conf spark.scylla.config=FILE)")


def _submitted_config() -> str | None:
    """The config path from a spark-submit --conf, when running under spark-submit."""
    from migrator.spark import submitted_conf

    conf = submitted_conf()
    if conf is None:
        return None
    return next((conf.get(k) for k in CONFIG_CONF_KEYS if conf.contains(k)), None)


def setup_logging(level: str, secrets: set[str] | None = None) -> None:
    """Log to stderr at ``level`` for migrator, quieter for the libraries; scrub ``secrets``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    if secrets:
        handler.addFilter(_Scrubber(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("migrator").setLevel(level)
    # the driver logs connection failures with tracebacks; we report them ourselves, once
    logging.getLogger("cassandra").setLevel(logging.DEBUG if level == "DEBUG" else logging.CRITICAL)
    logging.getLogger("py4j").setLevel(logging.ERROR)


class _Scrubber(logging.Filter):
    """Last line of defence: no secret value reaches a log line, whatever formatted it."""

    def __init__(self, secrets: set[str]) -> None:
        super().__init__()
        self.secrets = sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace every secret in the formatted message; never drops a record."""
        message = record.getMessage()
        scrubbed = message
        for secret in self.secrets:
            scrubbed = scrubbed.replace(secret, "<redacted>")
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    setup_logging(args.log_level)
    try:
        return _run(args)
    except MigratorError as exc:
        log.debug("failure details", exc_info=True)
        print(f"migrator: error: {exc.render()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("migrator: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:  # the last net for a disk that refused a write no writer translated
        from migrator.files import errno_meaning, fix_for

        log.debug("failure details", exc_info=True)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"migrator: error: {where}{errno_meaning(exc.errno)}\n  hint: {fix_for(exc.errno)}", file=sys.stderr)
        return EXIT_RUNTIME


def _run(args: argparse.Namespace) -> int:
    from migrator.config import load_config, redact_tree, render_yaml

    if args.command == "package":
        return _package(args)
    if args.command == "emr":
        return emr.run(args)
    conf = _spark_conf(getattr(args, "conf", []))
    loaded = load_config(_config_path(args, conf))
    setup_logging(args.log_level, loaded.model.secret_values())
    log.info("config %s:\n%s", loaded.source or "", render_yaml(redact_tree(loaded.raw, redact_where=True)))
    if args.command == "check":
        from migrator.check import check

        print(check(loaded))
        return EXIT_OK
    if args.command in ("migrate", "validate", "diff"):
        from migrator.resume import resume_point

        loaded = resume_point(loaded, args.command, fresh=args.fresh)
    if args.command == "migrate":
        return _migrate(loaded, args, conf)
    if args.command == "validate":
        return _validate(loaded, args, conf)
    if args.command == "diff":
        return _diff(loaded, args, conf)
    if args.command == "apply":
        return _apply(loaded, args)
    if args.command == "resolve-conflicts":
        return _resolve(loaded, args)
    if args.command == "schema-diff":
        from migrator.reconcile.schema import run_schema_diff

        drifts, text = run_schema_diff(loaded)
        print(text, file=sys.stderr)
        return EXIT_DIFFERENCES if drifts else EXIT_OK
    if args.command == "schema-migrate":
        from migrator.reconcile.schema import run_schema_migrate

        path, count = run_schema_migrate(loaded)
        print(f"schema migration: {count} statement(s) to run in {path} (review it first)", file=sys.stderr)
        return EXIT_OK
    raise UsageError(f"unknown command {args.command!r}")


def _package(args: argparse.Namespace) -> int:
    from pathlib import Path

    from migrator.deploy.package import build, submit_line

    artifacts = build(Path(args.dist), env=not args.no_env, python=args.python)
    for path in (artifacts.zip, artifacts.entry, artifacts.requirements, artifacts.env):
        if path is not None:
            print(f"built {path} ({path.stat().st_size:,} bytes)", file=sys.stderr)
    print(f"run it with:\n  {submit_line(artifacts)}", file=sys.stderr)
    return EXIT_OK


def _migrate(loaded: LoadedConfig, args: argparse.Namespace, conf: dict[str, str]) -> int:
    from migrator.migrate import migrate
    from migrator.runner import preflight
    from migrator.spark import create_session

    preflight(loaded.model)  # fail on usage before paying for a Spark start
    spark = create_session(args.master, conf)
    try:
        result = migrate(loaded, spark)
    finally:
        _stop(spark)
    rate = result.rows / result.seconds if result.seconds > 0 else 0.0
    print(
        f"migration finished: {result.ranges_done}/{result.ranges_total} ranges, {result.rows:,} rows "
        f"in {result.seconds:.1f} s ({rate:,.0f} rows/s); savepoint: {result.savepoint}",
        file=sys.stderr,
    )
    if result.counts:
        print("  " + ", ".join(f"{name}: {value:,}" for name, value in sorted(result.counts.items())),
              file=sys.stderr)
    if result.streamed is not None:
        print(f"streaming ended (every shard of the stream has ended): {result.streamed.changes:,} changes applied "
              f"in {result.streamed.seconds:.1f} s", file=sys.stderr)
    for table in result.tables:
        outcome = f"FAILED: {table.failure}" if table.failure else "done"
        print(f"  {table.name} -> {table.target}: {table.ranges_done}/{table.ranges_total} ranges, "
              f"{table.rows:,} rows, {outcome}", file=sys.stderr)
    if result.failed:
        print(f"migrator: error: {len(result.failed)} of {len(result.tables)} tables failed; the others were copied. "
              f"Fix the cause, then resume with: migrator migrate --config {result.savepoint}", file=sys.stderr)
        return EXIT_RUNTIME
    return EXIT_OK


def _validate(loaded: LoadedConfig, args: argparse.Namespace, conf: dict[str, str]) -> int:
    from pathlib import Path

    from rich.console import Console

    from migrator.files import probe_folder
    from migrator.report.render import console_summary, write_report
    from migrator.report.tables import tables_console_summary, write_tables_report
    from migrator.spark import create_session
    from migrator.validate import validate_all, validation_preflight

    validation_preflight(loaded.model)  # fail on usage before paying for a Spark start
    for folder in (args.report, args.differences):
        if folder:
            probe_folder(Path(folder))  # refused now (exit 3), not after the whole comparison
    spark = create_session(args.master, conf)
    try:
        reports = validate_all(loaded, spark, differences=args.differences)
    finally:
        _stop(spark)
    many, one = loaded.model.many_tables, reports.tables[0].report
    Console(stderr=True).print(tables_console_summary(reports) if many else console_summary(one))
    if args.report:
        paths = write_tables_report(reports, args.report) if many else write_report(one, args.report)
        print(f"validation report: {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    where = f"{Path(args.differences).resolve()}/<table>" if many and args.differences else one.differences
    if where:
        print(f"every difference: {where}/split-*.jsonl", file=sys.stderr)
    if reports.failed:
        print(f"migrator: error: {len(reports.failed)} of {len(reports.tables)} tables failed; fix the cause, then "
              "run the same command again (it resumes)", file=sys.stderr)
        return EXIT_RUNTIME
    return EXIT_OK if reports.equal else EXIT_DIFFERENCES


def _diff(loaded: LoadedConfig, args: argparse.Namespace, conf: dict[str, str]) -> int:
    from migrator.reconcile.diff import diff, diff_preflight, summary_text, table_name
    from migrator.spark import create_session

    diff_preflight(loaded.model)  # fail on usage before paying for a Spark start
    spark = create_session(args.master, conf)
    try:
        result = diff(loaded, spark)
    finally:
        _stop(spark)
    print(summary_text(result, dev=table_name(loaded.model.source), prod=table_name(loaded.model.target)),
          file=sys.stderr)
    return EXIT_OK if result.identical else EXIT_DIFFERENCES


def _resolve(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    from migrator.reconcile.diff import summary_text, table_name
    from migrator.reconcile.resolve import resolve

    pending, result = resolve(loaded, auto=args.auto, resume=args.resume)
    print(summary_text(result, dev=table_name(loaded.model.source), prod=table_name(loaded.model.target)),
          file=sys.stderr)
    if pending:
        print(f"{pending:,} conflict(s) still pending: run migrator resolve-conflicts --resume", file=sys.stderr)
    return EXIT_DIFFERENCES if pending else EXIT_OK


def _apply(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    from pathlib import Path

    from migrator.reconcile.apply import apply

    result = apply(loaded, Path(args.pack), dry_run=args.dry_run, resume=args.resume)
    print(result.text(), file=sys.stderr)
    if result.interrupted_by:
        return EXIT_INTERRUPTED
    return EXIT_DIFFERENCES if result.skipped else EXIT_OK


def _stop(spark: Any) -> None:
    try:
        spark.stop()
    except Exception:  # stopping must never hide the real outcome
        log.debug("spark.stop() failed", exc_info=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["ConfigError", "main"]
