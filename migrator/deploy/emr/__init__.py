"""``migrator emr ...``: run the migrator on AWS EMR (a cluster's steps, or EMR Serverless).

Subcommands (walk-through: docs/emr.md):

* ``bootstrap``: upload the node bootstrap script and requirements; print what ``aws emr
  create-cluster`` needs to install Python 3.11 and the dependencies on every node;
* ``submit``: upload a run (code, entry script, requirements, config, optionally a packed
  environment) and add a ``spark-submit`` step to a running cluster; print the step id;
  ``--wait`` follows it to the end;
* ``status``: the state of a step (``--wait`` to follow it);
* ``serverless-submit`` / ``serverless-status``: the same for an EMR Serverless application.

Exit codes: 0 success (or, without ``--wait``, submitted); 2 usage problems found before anything
was started (bad arguments, missing files, unknown or terminated cluster, no credentials, denied
permissions); 3 the step or job run ended without success, or AWS could not be reached; 4 Ctrl-C
while waiting (the step keeps running).

This package's ``__init__`` only declares the command line and imports nothing heavy (``steps``
is plain data): ``migrator.cli`` imports it at start-up. The work is in its modules:

* ``commands``: the subcommands (check the inputs, build, upload, submit, follow);
* ``steps``: the S3 layout, spark-submit arguments, step and job definitions, as plain data;
* ``state``: what EMR says about clusters, steps and job runs, read as outcomes; waiting;
* ``artifacts``: the local side (fresh artifacts, the packed environment check, the config);
* ``aws``: the boto3 calls, their failures turned into migrator errors;
* ``bootstrap.sh``: the node bootstrap action, uploaded by ``bootstrap`` as ``emr_bootstrap.sh``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from migrator.deploy.emr.steps import ACTIONS_ON_FAILURE, COMMANDS, DEFAULT_PYTHON, DEPLOY_MODES
from migrator.errors import EXIT_CONFIG

LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]
DEFAULT_POLL_SECONDS = 30.0


def add_parser(sub: Any) -> None:
    """Register ``emr`` and its subcommands on the ``migrator`` subparsers."""
    emr = sub.add_parser("emr", help="run on AWS EMR: bootstrap nodes, submit a step, follow it (docs/emr.md)",
                         description="Run the migrator on AWS EMR or EMR Serverless. See docs/emr.md.")
    emr.set_defaults(log_level="INFO", emr_parser=emr)
    cmds = emr.add_subparsers(dest="emr_command", metavar="EMR_COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--region", help="AWS region (default: AWS_REGION or the profile's)")
    common.add_argument("--log-level", default="INFO", choices=LOG_LEVELS)

    prefix = argparse.ArgumentParser(add_help=False)
    prefix.add_argument("--s3-prefix", required=True, metavar="S3_URI",
                        help="where to upload, e.g. s3://my-bucket/migrator (runs go to <prefix>/runs/<run-id>/)")
    prefix.add_argument("--dist", default="dist", metavar="DIR",
                        help="local folder for the built artifacts (default: dist)")
    prefix.add_argument("--python", default=DEFAULT_PYTHON, metavar="PATH",
                        help=f"the Python on the nodes (default: {DEFAULT_PYTHON})")

    waiting = argparse.ArgumentParser(add_help=False)
    waiting.add_argument("--wait", action="store_true", help="follow the run until it ends; exit 3 unless it succeeded")
    waiting.add_argument("--poll-seconds", type=_positive, default=DEFAULT_POLL_SECONDS, metavar="N",
                         help=f"seconds between state checks while waiting (default: {DEFAULT_POLL_SECONDS:g})")

    run = argparse.ArgumentParser(add_help=False)
    run.add_argument("--config", "-c", required=True, metavar="FILE|S3_URI|file:///PATH",
                     help="config or savepoint: a local file (uploaded), an s3:// URI (passed as is), or "
                     "file:///PATH already on the driver's node (client mode; e.g. a savepoint to resume)")
    # dest: "command" is taken by the top-level parser (it holds "emr")
    run.add_argument("--command", dest="job_command", default="migrate", choices=COMMANDS,
                     help="what to run (default: migrate)")
    run.add_argument("--report", metavar="DIR", help="validate only: report folder on the driver's node")
    run.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                     help="extra Spark setting for the job (repeatable); later values win")
    run.add_argument("--run-id", help="folder name of this run under <prefix>/runs/ (default: UTC time + random)")
    run.add_argument("--name", help="step or job name (default: migrator COMMAND CONFIG (RUN-ID))")

    bootstrap = cmds.add_parser("bootstrap", parents=[common, prefix],
                                help="upload the node bootstrap script; print the create-cluster options")
    bootstrap.set_defaults(emr_handler="bootstrap")

    submit = cmds.add_parser("submit", parents=[common, prefix, run, waiting],
                             help="upload a run and add it as a step to a running cluster; print the step id")
    submit.add_argument("--cluster-id", required=True, metavar="j-...",
                        help="a running cluster with Spark (aws emr list-clusters --active)")
    submit.add_argument("--deploy-mode", default="client", choices=DEPLOY_MODES,
                        help="client (default): the driver runs on the primary node, where savepoints persist; "
                        "cluster: in a YARN container on a core node")
    submit.add_argument("--env", action=argparse.BooleanOptionalAction, default=False,
                        help="ship DIST/migrator-env.tar.gz (built on Amazon Linux 2023) instead of relying on "
                        "the bootstrapped Python (default: --no-env)")
    submit.add_argument("--action-on-failure", default="CONTINUE", choices=ACTIONS_ON_FAILURE,
                        help="what EMR does when the step fails (default: CONTINUE)")
    submit.set_defaults(emr_handler="submit")

    status = cmds.add_parser("status", parents=[common, waiting], help="print a step's state")
    status.add_argument("--cluster-id", required=True, metavar="j-...")
    status.add_argument("--step-id", required=True, metavar="s-...")
    status.set_defaults(emr_handler="status")

    serverless = cmds.add_parser("serverless-submit", parents=[common, prefix, run, waiting],
                                 help="upload a run and start it on an EMR Serverless application")
    serverless.add_argument("--application-id", required=True)
    serverless.add_argument("--execution-role-arn", required=True, metavar="ARN",
                            help="the IAM role the job runs as (reads the prefix, writes the logs)")
    serverless.add_argument("--env", action=argparse.BooleanOptionalAction, default=True,
                            help="ship DIST/migrator-env.tar.gz (default); --no-env when the application's "
                            "image already has Python and the dependencies")
    serverless.add_argument("--log-uri", metavar="S3_URI",
                            help="where the job writes its logs (default: <prefix>/runs/<run-id>/logs/)")
    serverless.add_argument("--timeout-minutes", type=int, metavar="N",
                            help="cancel the job after N minutes (EMR Serverless default: 720)")
    serverless.set_defaults(emr_handler="serverless-submit")

    job = cmds.add_parser("serverless-status", parents=[common, waiting], help="print a job run's state")
    job.add_argument("--application-id", required=True)
    job.add_argument("--job-run-id", required=True)
    job.set_defaults(emr_handler="serverless-status")


def run(args: argparse.Namespace) -> int:
    """Run the ``emr`` subcommand chosen in ``args``; returns the exit code."""
    handler = getattr(args, "emr_handler", None)
    if handler is None:
        args.emr_parser.print_help(sys.stderr)
        return EXIT_CONFIG
    from migrator.deploy.emr import commands

    return int(commands.HANDLERS[handler](args))


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value
