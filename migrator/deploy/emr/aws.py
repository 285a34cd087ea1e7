"""The AWS calls of ``migrator emr``: S3 uploads, EMR steps, EMR Serverless job runs.

Every boto3/botocore failure is turned into a ``MigratorError`` naming what was being done and how
to fix it: missing or rejected credentials, no region, unknown ids and refused permissions are
usage problems (exit 2, nothing was started); an unreachable endpoint or an unexpected service
error is a runtime failure (exit 3). Credentials, region and endpoint come from boto3's usual
chain (``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``, instance roles); nothing here
prints them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from migrator.deploy.emr.steps import S3Location
from migrator.errors import MigratorError, RuntimeFailure, UsageError

log = logging.getLogger("migrator.emr")

_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "403"}
_BAD_CREDENTIALS = {"InvalidAccessKeyId", "InvalidClientTokenId", "UnrecognizedClientException",
                    "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException", "InvalidToken"}
_NOT_FOUND = {"InvalidRequestException", "ResourceNotFoundException", "NoSuchBucket", "NoSuchKey",
              "NotFound", "404", "ValidationException"}
_CREDENTIALS_HINT = ("set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an "
                     "instance role applies")


@contextmanager
def aws_call(what: str, *, permission: str, missing: Callable[[str], MigratorError] | None = None) -> Iterator[None]:
    """Translate boto3 errors raised while ``what`` into migrator errors.

    ``permission`` is the IAM action named when access is denied; ``missing`` builds the error for a
    not-found answer (an unknown cluster, bucket or application).
    """
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise UsageError(f"no AWS credentials found while {what}", hint=_CREDENTIALS_HINT) from None
    except NoRegionError:
        raise UsageError(f"no AWS region set while {what}",
                         hint="pass --region or set AWS_REGION (or a region in the profile)") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message") or code)
        if code in _BAD_CREDENTIALS:
            raise UsageError(f"AWS rejected the credentials while {what}: {message}",
                             hint=_CREDENTIALS_HINT) from None
        if code in _DENIED:
            raise UsageError(f"access denied while {what}: {message}",
                             hint=f"the credentials in use need {permission} (docs/emr.md, 'Permissions')") from None
        if code in _NOT_FOUND:
            raise (missing(message) if missing else UsageError(f"{what}: {message}")) from None
        raise RuntimeFailure(f"AWS refused {what}: {code}: {message}") from None
    except S3UploadFailedError as exc:
        raise RuntimeFailure(f"upload failed while {what}: {exc}",
                             hint=f"the credentials in use need {permission}") from None
    except BotoCoreError as exc:
        raise RuntimeFailure(f"cannot reach AWS while {what}: {exc}",
                             hint="check the network, --region and AWS_ENDPOINT_URL") from None


def client(service: str, region: str | None) -> Any:
    """A boto3 client for ``service`` from the default chain; S3 goes through ``migrator.s3``."""
    if service == "s3":
        from migrator import s3

        return s3.client(region_name=region) if region else s3.client()
    import boto3

    return boto3.client(service, region_name=region) if region else boto3.client(service)


def check_bucket(s3: Any, location: S3Location) -> None:
    """Fail early, before any upload, if the bucket is missing or out of reach."""
    def missing(_: str) -> MigratorError:
        return UsageError(f"S3 bucket {location.bucket!r} does not exist (or is in another account)",
                          hint="create it (aws s3 mb s3://BUCKET) or fix --s3-prefix")

    with aws_call(f"checking bucket {location.bucket}", permission="s3:ListBucket on the bucket", missing=missing):
        s3.head_bucket(Bucket=location.bucket)


def upload(s3: Any, path: Path, location: S3Location) -> str:
    """Upload ``path`` to ``location`` (multipart when large); returns its URI."""
    with aws_call(f"uploading {path.name} to {location.uri}", permission="s3:PutObject on the prefix"):
        s3.upload_file(str(path), location.bucket, location.key)
    return location.uri


def upload_bytes(s3: Any, data: bytes, location: S3Location) -> str:
    """Store ``data`` at ``location``; returns its URI."""
    with aws_call(f"uploading to {location.uri}", permission="s3:PutObject on the prefix"):
        s3.put_object(Bucket=location.bucket, Key=location.key, Body=data)
    return location.uri


def object_size(s3: Any, location: S3Location) -> int | None:
    """The size of the object at ``location``, or None when there is none."""
    from botocore.exceptions import ClientError

    with aws_call(f"looking up {location.uri}", permission="s3:GetObject on the object"):
        try:
            return int(s3.head_object(Bucket=location.bucket, Key=location.key)["ContentLength"])
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise


def describe_cluster(emr: Any, cluster_id: str) -> dict[str, Any]:
    """``describe_cluster`` of ``cluster_id``; an unknown id is a ``UsageError``."""
    def missing(message: str) -> MigratorError:
        return UsageError(f"no EMR cluster {cluster_id} in this account and region ({message})",
                          hint="check --cluster-id and --region: aws emr list-clusters --active")

    with aws_call(f"describing cluster {cluster_id}", permission="elasticmapreduce:DescribeCluster",
                  missing=missing):
        return dict(emr.describe_cluster(ClusterId=cluster_id)["Cluster"])


def bootstrap_actions(emr: Any, cluster_id: str) -> list[dict[str, Any]] | None:
    """The cluster's bootstrap actions, or None when they cannot be listed (the check is advisory)."""
    try:
        with aws_call(f"listing the bootstrap actions of {cluster_id}",
                      permission="elasticmapreduce:ListBootstrapActions"):
            pages = emr.get_paginator("list_bootstrap_actions").paginate(ClusterId=cluster_id)
            return [action for page in pages for action in page.get("BootstrapActions", [])]
    except MigratorError as exc:
        log.debug("bootstrap actions not checked: %s", exc.message)
        return None


def add_step(emr: Any, cluster_id: str, step: dict[str, Any]) -> str:
    """Add ``step`` to the cluster; returns the step id."""
    with aws_call(f"adding a step to cluster {cluster_id}", permission="elasticmapreduce:AddJobFlowSteps"):
        return str(emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=[step])["StepIds"][0])


def describe_step(emr: Any, cluster_id: str, step_id: str) -> dict[str, Any]:
    """``describe_step``; an unknown step id is a ``UsageError``."""
    def missing(message: str) -> MigratorError:
        return UsageError(f"no step {step_id} on cluster {cluster_id} ({message})",
                          hint=f"list them with: aws emr list-steps --cluster-id {cluster_id}")

    with aws_call(f"describing step {step_id}", permission="elasticmapreduce:DescribeStep", missing=missing):
        step = emr.describe_step(ClusterId=cluster_id, StepId=step_id).get("Step")
    if not step:
        raise missing("not found")
    return dict(step)


def get_application(serverless: Any, application_id: str) -> dict[str, Any]:
    """``get_application``; an unknown id is a ``UsageError``."""
    def missing(message: str) -> MigratorError:
        return UsageError(f"no EMR Serverless application {application_id} in this account and region ({message})",
                          hint="check --application-id and --region: aws emr-serverless list-applications")

    with aws_call(f"describing application {application_id}", permission="emr-serverless:GetApplication",
                  missing=missing):
        return dict(serverless.get_application(applicationId=application_id)["application"])


def start_job_run(serverless: Any, **request: Any) -> str:
    """``start_job_run``; returns the job run id."""
    with aws_call(f"starting a job run on application {request['applicationId']}",
                  permission="emr-serverless:StartJobRun and iam:PassRole on the execution role"):
        return str(serverless.start_job_run(**request)["jobRunId"])


def get_job_run(serverless: Any, application_id: str, job_run_id: str) -> dict[str, Any]:
    """``get_job_run``; an unknown id is a ``UsageError``."""
    def missing(message: str) -> MigratorError:
        return UsageError(f"no job run {job_run_id} in application {application_id} ({message})",
                          hint=f"list them with: aws emr-serverless list-job-runs --application-id {application_id}")

    with aws_call(f"describing job run {job_run_id}", permission="emr-serverless:GetJobRun", missing=missing):
        return dict(serverless.get_job_run(applicationId=application_id, jobRunId=job_run_id)["jobRun"])
