"""What EMR says about clusters, steps and Serverless job runs, read as outcomes; and waiting for the end.

Pure functions over the dictionaries boto3 returns (``describe_cluster``, ``describe_step``,
``get_application``, ``get_job_run``), so every state and failure message is testable without AWS.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from migrator.errors import RuntimeFailure, UsageError

log = logging.getLogger("migrator.emr")

STEP_SUCCESS = "COMPLETED"
STEP_TERMINAL = frozenset({"COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED"})
JOB_SUCCESS = "SUCCESS"
JOB_TERMINAL = frozenset({"SUCCESS", "FAILED", "CANCELLED"})
CLUSTER_ENDED = frozenset({"TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"})
APPLICATION_ENDED = frozenset({"TERMINATED"})
MIN_MAJOR_RELEASE = 7  # EMR 7 is the first with Spark 3.5 and a Python 3.11 on its nodes
_RELEASE_RE = re.compile(r"^emr-(?:spark-)?(\d+)\.(\d+)")


@dataclass(frozen=True)
class Outcome:
    """Where a step or job run stands; ``reason`` and ``logs`` say why it failed and where to look."""

    state: str
    terminal: bool
    succeeded: bool
    reason: str | None = None
    logs: str | None = None


def s3_folder(uri: str) -> str:
    """``uri`` with the ``s3://`` scheme (EMR reports ``s3n://``) and one trailing slash."""
    for scheme in ("s3n://", "s3a://"):
        if uri.startswith(scheme):
            uri = "s3://" + uri[len(scheme):]
    return uri.rstrip("/") + "/"


def step_log_folder(log_uri: str | None, cluster_id: str, step_id: str) -> str | None:
    """Where EMR copies a step's stdout/stderr (every few minutes), or None if the cluster logs nowhere."""
    if not log_uri:
        return None
    return f"{s3_folder(log_uri)}{cluster_id}/steps/{step_id}/"


def step_outcome(step: Mapping[str, Any], *, log_uri: str | None, cluster_id: str) -> Outcome:
    """Read a ``describe_step()["Step"]``."""
    status = step.get("Status") or {}
    state = str(status.get("State", "UNKNOWN"))
    failure = status.get("FailureDetails") or {}
    reason = " ".join(str(failure[k]).strip() for k in ("Reason", "Message") if failure.get(k)) or None
    if reason is None:
        reason = (status.get("StateChangeReason") or {}).get("Message") or None
    logs = failure.get("LogFile") or step_log_folder(log_uri, cluster_id, str(step.get("Id", "")))
    return Outcome(state, state in STEP_TERMINAL, state == STEP_SUCCESS, reason, logs)


def job_log_folder(job_run: Mapping[str, Any]) -> str | None:
    """Where a Serverless job run writes its logs, when it was given an S3 log URI."""
    overrides = job_run.get("configurationOverrides") or {}
    s3 = (overrides.get("monitoringConfiguration") or {}).get("s3MonitoringConfiguration") or {}
    if not s3.get("logUri"):
        return None
    return f"{s3_folder(s3['logUri'])}applications/{job_run.get('applicationId')}/jobs/{job_run.get('jobRunId')}/"


def job_run_outcome(job_run: Mapping[str, Any]) -> Outcome:
    """Read a ``get_job_run()["jobRun"]``."""
    state = str(job_run.get("state", "UNKNOWN"))
    reason = job_run.get("stateDetails") or None
    return Outcome(state, state in JOB_TERMINAL, state == JOB_SUCCESS, reason, job_log_folder(job_run))


def release_major(label: str | None) -> int | None:
    """7 for ``emr-7.9.0``, 8 for ``emr-spark-8.0.0``; None if the label is not recognised."""
    match = _RELEASE_RE.match(label or "")
    return int(match.group(1)) if match else None


def check_cluster(cluster: Mapping[str, Any]) -> list[str]:
    """Refuse a cluster that cannot run the step (``UsageError``); return warnings about doubtful ones."""
    cluster_id = cluster.get("Id", "?")
    status = cluster.get("Status") or {}
    state = status.get("State", "UNKNOWN")
    if state in CLUSTER_ENDED:
        why = (status.get("StateChangeReason") or {}).get("Message")
        raise UsageError(f"EMR cluster {cluster_id} is {state}{f' ({why})' if why else ''}; steps can only be "
                         "added to a cluster that is starting, running or waiting",
                         hint="create a cluster (docs/emr.md) and pass its id with --cluster-id")
    apps = {str(a.get("Name", "")).lower() for a in cluster.get("Applications") or []}
    if "spark" not in apps:
        raise UsageError(f"EMR cluster {cluster_id} has no Spark installed (applications: "
                         f"{', '.join(sorted(apps)) or 'none'})",
                         hint="create the cluster with --applications Name=Spark")
    warnings = []
    label = cluster.get("ReleaseLabel")
    major = release_major(label)
    if major is not None and major < MIN_MAJOR_RELEASE:
        warnings.append(f"cluster {cluster_id} runs {label}: the migrator needs Spark 3.5 or later and "
                        "Python 3.11, i.e. EMR 7.x or emr-spark-8; expect the step to fail")
    return warnings


def check_application(app: Mapping[str, Any]) -> list[str]:
    """Refuse a Serverless application that cannot run the job; return warnings."""
    app_id = app.get("applicationId", "?")
    state = app.get("state", "UNKNOWN")
    if state in APPLICATION_ENDED:
        raise UsageError(f"EMR Serverless application {app_id} is {state}",
                         hint="create an application (docs/emr.md) and pass its id with --application-id")
    if str(app.get("type", "")).lower() != "spark":
        raise UsageError(f"EMR Serverless application {app_id} is of type {app.get('type')!r}, not Spark",
                         hint="create it with --type SPARK")
    label = app.get("releaseLabel")
    major = release_major(label)
    if major is not None and major < MIN_MAJOR_RELEASE:
        return [f"application {app_id} runs {label}: the migrator needs EMR 7.x or emr-spark-8; expect failure"]
    return []


def wait(fetch: Callable[[], Outcome], *, poll_seconds: float, what: str,
         sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Call ``fetch`` every ``poll_seconds`` until the outcome is terminal; log each state change."""
    last = None
    while True:
        outcome = fetch()
        if outcome.state != last:
            log.info("%s: %s", what, outcome.state)
            last = outcome.state
        if outcome.terminal:
            return outcome
        sleep(poll_seconds)


def finish(outcome: Outcome, what: str) -> int:
    """Exit code 0 for a success; a ``RuntimeFailure`` (exit 3) naming the reason and the logs otherwise."""
    if outcome.succeeded:
        return 0
    message = f"{what} ended {outcome.state}"
    if outcome.reason:
        message += f": {outcome.reason}"
    hint = f"logs: {outcome.logs}" if outcome.logs else None
    raise RuntimeFailure(message, hint=hint)
