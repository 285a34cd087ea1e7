"""The ``migrator emr`` subcommands: check the inputs, build, upload, submit, follow.

Order of work, so that a mistake costs nothing: arguments and local files first (exit 2 before any
AWS call), then the cluster or application (exit 2 if unknown, terminated or without Spark), then
uploads, then the single call that starts something. Only ids go to stdout (``STEP=$(migrator emr
submit ...)`` works); everything else goes to stderr. The config's contents are never printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shlex
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from migrator.deploy.emr import aws
from migrator.deploy.emr.artifacts import (
    CONFIG_LOCAL,
    CONFIG_NODE,
    CONFIG_S3,
    ConfigRef,
    config_ref,
    prepare,
    read_local_config,
    savepoint_warnings,
    savepoints_path,
    sha256_of,
)
from migrator.deploy.emr.state import (
    Outcome,
    check_application,
    check_cluster,
    finish,
    job_run_outcome,
    step_log_folder,
    step_outcome,
    wait,
)
from migrator.deploy.emr.steps import (
    BOOTSTRAP_NAME,
    BOOTSTRAP_RESOURCE,
    JobSpec,
    RunFiles,
    S3Location,
    bootstrap_action,
    bootstrap_location,
    bootstrap_scripts,
    check_run_id,
    cli_bootstrap_actions,
    env_location,
    new_run_id,
    parse_spark_conf,
    python_version,
    redacted_parameters,
    run_location,
    serverless_job_driver,
    shell_line,
    spark_env_configuration,
    step_definition,
    step_name,
)
from migrator.deploy.package import ENTRY_NAME, REQUIREMENTS_NAME, ZIP_NAME, Artifacts, build
from migrator.errors import EXIT_INTERRUPTED, EXIT_OK, ConfigError, RuntimeFailure, UsageError

log = logging.getLogger("migrator.emr")

_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/\S+$")


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def bootstrap(args: argparse.Namespace) -> int:
    """Upload the bootstrap script and requirements; print the ``aws emr create-cluster`` options."""
    prefix = S3Location.parse(args.s3_prefix)
    python_version(args.python)
    built = build(Path(args.dist), env=False)
    try:
        script = resources.files("migrator.deploy.emr").joinpath(BOOTSTRAP_RESOURCE).read_bytes()
    except OSError:
        missing = f"migrator/deploy/emr/{BOOTSTRAP_RESOURCE} is missing from this installation of the migrator"
        raise RuntimeFailure(missing, hint="reinstall it from the project (pip install .), which ships the "
                             "script") from None
    s3 = aws.client("s3", args.region)
    aws.check_bucket(s3, prefix)
    folder = bootstrap_location(prefix)
    script_uri = aws.upload_bytes(s3, script, folder.child(BOOTSTRAP_NAME))
    requirements_uri = aws.upload(s3, built.requirements, folder.child(REQUIREMENTS_NAME))
    action = bootstrap_action(script_uri, requirements_uri, args.python)
    _err(f"uploaded {script_uri} and {requirements_uri}")
    _err("add these options to `aws emr create-cluster` (docs/emr.md, 'Create the cluster'):")
    print(f"--bootstrap-actions {shlex.quote(json.dumps(cli_bootstrap_actions(action)))}")
    print(f"--configurations {shlex.quote(json.dumps(spark_env_configuration(args.python)))}")
    return EXIT_OK


def submit(args: argparse.Namespace) -> int:
    """Upload a run and add it as a step to a running EMR cluster; optionally wait for its end."""
    prefix, run_id, config = _common_inputs(args)
    spark_conf = parse_spark_conf(args.spark_conf)
    if config.kind == CONFIG_NODE and args.deploy_mode == "cluster":
        raise UsageError(f"--config file://{config.value} names a file on the primary node, but in cluster mode "
                         "the driver runs on a core node", hint="use --deploy-mode client, or pass a local or "
                         "s3:// config")
    _warn(savepoint_warnings(_savepoints_path(config), deploy_mode=args.deploy_mode))
    artifacts = prepare(Path(args.dist), use_env=args.env, python=args.python)

    emr, s3 = aws.client("emr", args.region), aws.client("s3", args.region)
    cluster = aws.describe_cluster(emr, args.cluster_id)
    _warn(check_cluster(cluster))
    if not (args.env and args.deploy_mode == "cluster"):
        _check_bootstrapped(emr, args.cluster_id, args.python)

    files = _upload_run(s3, prefix, run_id, artifacts, config)
    spec = JobSpec(args.job_command, files, args.python, spark_conf, _app_args(args))
    name = args.name or step_name(args.job_command, config.name, run_id)
    step = step_definition(spec, deploy_mode=args.deploy_mode, name=name, action_on_failure=args.action_on_failure)
    step_id = aws.add_step(emr, args.cluster_id, step)
    print(step_id, flush=True)
    logs = step_log_folder(cluster.get("LogUri"), args.cluster_id, step_id)
    _err(f"added step {step_id} ({name!r}) to cluster {args.cluster_id}; it runs:\n  "
         f"{shell_line(step['HadoopJarStep']['Args'])}")
    _err(f"step logs: {logs}" if logs else
         f"step logs: on the primary node in /mnt/var/log/hadoop/steps/{step_id}/ (the cluster has no log URI)")
    if args.deploy_mode == "cluster":
        _err("in cluster mode the driver's output is in the YARN container logs (docs/emr.md, 'Logs')")
    follow = f"migrator emr status --cluster-id {args.cluster_id} --step-id {step_id}"
    if not args.wait:
        _err(f"follow it with: {follow} --wait")
        return EXIT_OK
    return _follow(lambda: _step(emr, args.cluster_id, step_id, cluster.get("LogUri")),
                   f"step {step_id} on cluster {args.cluster_id}", args.poll_seconds, follow)


def status(args: argparse.Namespace) -> int:
    """Print a step's state on stdout; with ``--wait``, follow it to its end."""
    emr = aws.client("emr", args.region)
    log_uri = aws.describe_cluster(emr, args.cluster_id).get("LogUri")
    what = f"step {args.step_id} on cluster {args.cluster_id}"
    fetch = lambda: _step(emr, args.cluster_id, args.step_id, log_uri)  # noqa: E731
    return _report(fetch, what, args)


def serverless_submit(args: argparse.Namespace) -> int:
    """Upload a run and start it on an EMR Serverless application; optionally wait for its end."""
    prefix, run_id, config = _common_inputs(args)
    spark_conf = parse_spark_conf(args.spark_conf, no_spaces=True)
    if config.kind == CONFIG_NODE:
        raise UsageError("--config file://... names a file on a node; EMR Serverless has none that lasts",
                         hint="pass a local file (uploaded) or an s3:// URI")
    if not _ROLE_ARN_RE.match(args.execution_role_arn):
        raise UsageError(f"--execution-role-arn {args.execution_role_arn!r} is not an IAM role ARN",
                         hint="it looks like arn:aws:iam::123456789012:role/NAME")
    log_uri = (S3Location.parse(args.log_uri, "--log-uri") if args.log_uri
               else run_location(prefix, run_id).child("logs")).uri + "/"
    if args.timeout_minutes is not None and args.timeout_minutes < 5:
        raise UsageError(f"--timeout-minutes {args.timeout_minutes}: EMR Serverless needs at least 5")
    _warn(savepoint_warnings(_savepoints_path(config), deploy_mode="cluster", serverless=True))
    artifacts = prepare(Path(args.dist), use_env=args.env, python=args.python)

    client, s3 = aws.client("emr-serverless", args.region), aws.client("s3", args.region)
    app = aws.get_application(client, args.application_id)
    _warn(check_application(app))
    if not args.env and not app.get("imageConfiguration"):
        _warn([f"application {args.application_id} uses the stock image: with --no-env it needs {args.python} "
               "and the migrator's requirements there (a custom image, docs/emr.md)"])
    files = _upload_run(s3, prefix, run_id, artifacts, config)
    spec = JobSpec(args.job_command, files, args.python, spark_conf, _app_args(args))
    request: dict[str, Any] = {
        "applicationId": args.application_id,
        "executionRoleArn": args.execution_role_arn,
        "name": args.name or step_name(args.job_command, config.name, run_id),
        "jobDriver": serverless_job_driver(spec),
        "configurationOverrides": {"monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": log_uri}}},
    }
    if args.timeout_minutes is not None:
        request["executionTimeoutMinutes"] = args.timeout_minutes
    job_id = aws.start_job_run(client, **request)
    print(job_id, flush=True)
    driver = request["jobDriver"]["sparkSubmit"]
    _err(f"started job run {job_id} on application {args.application_id}: {driver['entryPoint']} "
         f"{shlex.join(driver['entryPointArguments'])}\n  with {redacted_parameters(driver['sparkSubmitParameters'])}")
    _err(f"logs: {log_uri}applications/{args.application_id}/jobs/{job_id}/")
    follow = f"migrator emr serverless-status --application-id {args.application_id} --job-run-id {job_id}"
    if not args.wait:
        _err(f"follow it with: {follow} --wait")
        return EXIT_OK
    return _follow(lambda: job_run_outcome(aws.get_job_run(client, args.application_id, job_id)),
                   f"job run {job_id}", args.poll_seconds, follow)


def serverless_status(args: argparse.Namespace) -> int:
    """Print a job run's state on stdout; with ``--wait``, follow it to its end."""
    client = aws.client("emr-serverless", args.region)
    fetch = lambda: job_run_outcome(aws.get_job_run(client, args.application_id, args.job_run_id))  # noqa: E731
    return _report(fetch, f"job run {args.job_run_id}", args)


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "bootstrap": bootstrap,
    "submit": submit,
    "status": status,
    "serverless-submit": serverless_submit,
    "serverless-status": serverless_status,
}


def _common_inputs(args: argparse.Namespace) -> tuple[S3Location, str, ConfigRef]:
    """The checks both submit commands share, all before any AWS call."""
    prefix = S3Location.parse(args.s3_prefix)
    run_id = check_run_id(args.run_id) if args.run_id else new_run_id()
    python_version(args.python)
    if args.report and args.job_command != "validate":
        raise UsageError("--report applies to --command validate only")
    return prefix, run_id, config_ref(args.config)


def _app_args(args: argparse.Namespace) -> tuple[str, ...]:
    return ("--report", args.report) if args.report else ()


def _savepoints_path(config: ConfigRef) -> str | None:
    return savepoints_path(read_local_config(config)) if config.kind == CONFIG_LOCAL else None


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        log.warning("%s", warning)


def _check_bootstrapped(emr: Any, cluster_id: str, python: str) -> None:
    scripts = aws.bootstrap_actions(emr, cluster_id)
    if scripts is not None and not any(p.endswith("/" + BOOTSTRAP_NAME) for p in bootstrap_scripts(scripts)):
        log.warning("cluster %s has no %s bootstrap action: unless its nodes already have %s with the migrator's "
                    "requirements, the step will fail on import (create clusters with the options printed by "
                    "`migrator emr bootstrap`)", cluster_id, BOOTSTRAP_NAME, python)


def _upload_run(s3: Any, prefix: S3Location, run_id: str, artifacts: Artifacts, config: ConfigRef) -> RunFiles:
    """Upload one run's files; a packed environment is stored once per content and reused."""
    aws.check_bucket(s3, prefix)
    where = run_location(prefix, run_id)
    zip_uri = aws.upload(s3, artifacts.zip, where.child(ZIP_NAME))
    entry_uri = aws.upload(s3, artifacts.entry, where.child(ENTRY_NAME))
    aws.upload(s3, artifacts.requirements, where.child(REQUIREMENTS_NAME))
    names = [ZIP_NAME, ENTRY_NAME, REQUIREMENTS_NAME]
    if config.kind == CONFIG_LOCAL:
        config_uri = aws.upload(s3, Path(config.value), where.child("config", config.name))
        names.append(f"config/{config.name}")
    elif config.kind == CONFIG_S3:
        if aws.object_size(s3, S3Location.parse(config.value, "--config")) is None:
            raise ConfigError([("", f"config file not found: {config.value}")], source=config.value)
        config_uri = config.value
    else:
        config_uri = config.value
    _err(f"uploaded run {run_id} to {where.uri}/: {', '.join(names)}")
    env_uri = None
    if artifacts.env is not None:
        location = env_location(prefix, sha256_of(artifacts.env))
        if aws.object_size(s3, location) == artifacts.env.stat().st_size:
            _err(f"packed environment already at {location.uri}")
        else:
            _err(f"uploading the packed environment ({artifacts.env.stat().st_size:,} bytes) to {location.uri}")
            aws.upload(s3, artifacts.env, location)
        env_uri = location.uri
    return RunFiles(zip=zip_uri, entry=entry_uri, config=config_uri, env=env_uri)


def _step(emr: Any, cluster_id: str, step_id: str, log_uri: str | None) -> Outcome:
    return step_outcome(aws.describe_step(emr, cluster_id, step_id), log_uri=log_uri, cluster_id=cluster_id)


def _report(fetch: Callable[[], Outcome], what: str, args: argparse.Namespace) -> int:
    """``status`` commands: print the state; a failed end is exit 3 with its reason."""
    if args.wait:
        return _follow(fetch, what, args.poll_seconds, None, to_stdout=True)
    outcome = fetch()
    print(outcome.state, flush=True)
    return finish(outcome, what) if outcome.terminal else EXIT_OK


def _follow(fetch: Callable[[], Outcome], what: str, poll_seconds: float, follow: str | None,
            *, to_stdout: bool = False) -> int:
    try:
        outcome = wait(fetch, poll_seconds=poll_seconds, what=what)
    except KeyboardInterrupt:
        _err(f"stopped waiting; {what} keeps running" + (f". Follow it with: {follow} --wait" if follow else ""))
        return EXIT_INTERRUPTED
    if to_stdout:
        print(outcome.state, flush=True)
    _err(f"{what}: {outcome.state}")
    return finish(outcome, what)
