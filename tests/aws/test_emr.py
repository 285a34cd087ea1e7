"""``migrator emr`` against moto's S3, EMR and EMR Serverless endpoints (a moto server on loopback).

moto cannot run Spark: a step it accepts stays RUNNING (or PENDING) forever and a Serverless job
run is SUCCESS at once. So these tests check what the commands send: every uploaded object, byte
for byte, and the exact step (name, action on failure, jar, the whole argument list) or job run
(job driver, log URI, role) that EMR was given, plus every refusal before anything is started.
Step ends are reached by setting the step's state inside moto's in-process backend (the server
runs in this process for that reason), standing in for what a real cluster would report; whether
a real EMR cluster then runs the step is not tested here (docs/emr.md, 'What was tested').

No Cassandra is needed, hence no ``integration`` marker.
"""

from __future__ import annotations

import io
import logging
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.emr.models import emr_backends
from moto.server import ThreadedMotoServer

from migrator.cli import main
from migrator.deploy.emr.artifacts import sha256_of

REGION = "us-east-1"
PYTHON = "/usr/bin/python3.11"
SECRET = "hunter2-not-for-logs"
CONFIG = f"""\
source:
  type: cassandra
  host: 10.0.0.5
  port: 9042
  keyspace: ks
  table: events
  credentials: {{username: app, password: {SECRET}}}
target:
  type: scylla
  host: 10.0.0.6
  port: 9042
  keyspace: ks
  table: events
savepoints:
  path: /mnt/migrator/savepoints
"""
LOGGERS = ("", "migrator", "cassandra", "py4j", "werkzeug")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws(endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point boto3 at moto with fake credentials, and nowhere else (no profile, no instance metadata)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # as in a fresh process: credentials looked up again


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level) for name in LOGGERS}
    yield
    for name, (handlers, level) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def bucket(request: pytest.FixtureRequest) -> str:
    name = "mig-" + request.node.name.replace("_", "-").lower()[:50].rstrip("-")
    boto3.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "events.yaml"
    path.write_text(CONFIG)
    return path


def make_cluster(*, bootstrap: bool = True, log_uri: str = "s3://aws-logs-x/elasticmapreduce/") -> str:
    actions = [{"Name": "migrator-python", "ScriptBootstrapAction": {
        "Path": "s3://any/p/bootstrap/emr_bootstrap.sh", "Args": ["s3://any/p/bootstrap/requirements.txt", PYTHON]}}]
    return str(boto3.client("emr").run_job_flow(
        Name="migrator-test", ReleaseLabel="emr-7.9.0", LogUri=log_uri, Applications=[{"Name": "Spark"}],
        Instances={"MasterInstanceType": "m5.xlarge", "SlaveInstanceType": "m5.xlarge", "InstanceCount": 3,
                   "KeepJobFlowAliveWhenNoSteps": True},
        BootstrapActions=actions if bootstrap else [],
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole")["JobFlowId"])


def objects(bucket: str) -> dict[str, bytes]:
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def fake_env(dist: Path, interpreter: str = PYTHON) -> Path:
    """A small stand-in for a venv-pack archive: the interpreter links and one module."""
    dist.mkdir(parents=True, exist_ok=True)
    path = dist / "migrator-env.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        module = b"VALUE = 1\n"
        info = tarfile.TarInfo("lib/python3.11/site-packages/stand_in.py")
        info.size = len(module)
        tar.addfile(info, io.BytesIO(module))
        for name, target in (("bin/python", "python3.11"), ("bin/python3.11", interpreter)):
            link = tarfile.TarInfo(name)
            link.type, link.linkname = tarfile.SYMTYPE, target
            tar.addfile(link)
    return path


def set_step_state(cluster_id: str, state: str, reason: str | None = None, delay: float = 0.0) -> threading.Thread:
    """What a real cluster would report at the end of its newest step: set in moto's backend.

    Done ``delay`` seconds after the cluster has a step (a submission may still be uploading).
    """
    cluster = emr_backends[DEFAULT_ACCOUNT_ID][REGION].clusters[cluster_id]

    def flip() -> None:
        deadline = time.monotonic() + 60
        while not cluster.steps and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(delay)
        step = cluster.steps[-1]
        step.state = state
        if reason:
            step.last_state_change_reason = reason

    thread = threading.Thread(target=flip, daemon=True)
    thread.start()
    return thread


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "Traceback" not in err
    return code, out, err


def only_step(cluster_id: str) -> dict[str, Any]:
    emr = boto3.client("emr")
    steps = emr.list_steps(ClusterId=cluster_id)["Steps"]
    assert len(steps) == 1
    return dict(emr.describe_step(ClusterId=cluster_id, StepId=steps[0]["Id"])["Step"])


# --- submit ------------------------------------------------------------------------------------------


def test_submit_uploads_the_run_and_adds_the_exact_step(capsys, tmp_path, bucket, config):
    cluster_id = make_cluster()
    dist = tmp_path / "dist"
    code, out, err = run_cli(capsys, "emr", "submit", "--cluster-id", cluster_id, "--s3-prefix",
                             f"s3://{bucket}/team/migrator/", "--config", str(config), "--dist", str(dist),
                             "--run-id", "run-1")
    assert code == 0, err
    step = only_step(cluster_id)
    assert out == f"{step['Id']}\n"
    run = f"s3://{bucket}/team/migrator/runs/run-1"
    assert step["Name"] == "migrator migrate events.yaml (run-1)"
    assert step["ActionOnFailure"] == "CONTINUE"
    assert step["Config"]["Jar"] == "command-runner.jar"
    assert step["Config"]["Args"] == [
        "spark-submit", "--master", "yarn", "--deploy-mode", "client",
        "--conf", "spark.pyspark.python=/usr/bin/python3.11",
        "--conf", "spark.pyspark.driver.python=/usr/bin/python3.11",
        "--py-files", f"{run}/migrator.zip",
        f"{run}/migrator_entry.py", "migrate", "--config", f"{run}/config/events.yaml",
    ]
    assert objects(bucket) == {
        "team/migrator/runs/run-1/migrator.zip": (dist / "migrator.zip").read_bytes(),
        "team/migrator/runs/run-1/migrator_entry.py": (dist / "migrator_entry.py").read_bytes(),
        "team/migrator/runs/run-1/requirements.txt": (dist / "requirements.txt").read_bytes(),
        "team/migrator/runs/run-1/config/events.yaml": CONFIG.encode(),
    }
    assert f"uploaded run run-1 to {run}/" in err
    assert f"step logs: s3://aws-logs-x/elasticmapreduce/{cluster_id}/steps/{step['Id']}/" in err
    assert "WARNING" not in err  # bootstrapped EMR 7 cluster, absolute savepoint path, client mode


def test_submit_with_env_in_cluster_mode_reuses_the_uploaded_env(capsys, tmp_path, bucket, config):
    cluster_id = make_cluster(bootstrap=False)
    dist = tmp_path / "dist"
    env = fake_env(dist)
    argv = ["emr", "submit", "--cluster-id", cluster_id, "--s3-prefix", f"s3://{bucket}/m", "--config", str(config),
            "--dist", str(dist), "--env", "--deploy-mode", "cluster", "--command", "validate", "--report",
            "/mnt/reports/r2", "--spark-conf", "spark.executor.memory=8g", "--spark-conf", "spark.x.password=p",
            "--name", "nightly check", "--action-on-failure", "CANCEL_AND_WAIT", "--run-id", "r2"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert out == f"{only_step(cluster_id)['Id']}\n"
    env_uri = f"s3://{bucket}/m/envs/{sha256_of(env)[:16]}/migrator-env.tar.gz"
    step = only_step(cluster_id)
    assert (step["Name"], step["ActionOnFailure"]) == ("nightly check", "CANCEL_AND_WAIT")
    assert step["Config"]["Args"] == [
        "spark-submit", "--master", "yarn", "--deploy-mode", "cluster",
        "--conf", "spark.pyspark.python=./environment/bin/python",
        "--conf", "spark.yarn.maxAppAttempts=1",
        "--conf", "spark.executor.memory=8g",
        "--conf", "spark.x.password=p",
        "--archives", f"{env_uri}#environment",
        "--py-files", f"s3://{bucket}/m/runs/r2/migrator.zip",
        f"s3://{bucket}/m/runs/r2/migrator_entry.py", "validate", "--config",
        f"s3://{bucket}/m/runs/r2/config/events.yaml", "--report", "/mnt/reports/r2",
    ]
    stored = objects(bucket)
    assert stored[env_uri.removeprefix(f"s3://{bucket}/")] == env.read_bytes()
    assert "spark.x.password=<redacted>" in err and "spark.x.password=p " not in err
    assert "in cluster mode the driver and its savepoints (/mnt/migrator/savepoints)" in err
    assert f"uploading the packed environment ({env.stat().st_size:,} bytes) to {env_uri}" in err
    assert "bootstrap action" not in err  # env + cluster mode needs no bootstrapped Python

    code, _, err = run_cli(capsys, *argv[:-1], "r3")
    assert code == 0, err
    assert f"packed environment already at {env_uri}" in err
    assert sorted(k for k in objects(bucket) if "/envs/" in k) == [env_uri.removeprefix(f"s3://{bucket}/")]


def test_submit_with_an_s3_config_or_a_node_path_passes_it_as_is(capsys, tmp_path, bucket):
    boto3.client("s3").put_object(Bucket=bucket, Key="configs/events.yaml", Body=CONFIG.encode())
    cluster_id = make_cluster()
    common = ["emr", "submit", "--cluster-id", cluster_id, "--s3-prefix", f"s3://{bucket}/m",
              "--dist", str(tmp_path / "dist")]
    code, _, err = run_cli(capsys, *common, "--config", f"s3://{bucket}/configs/events.yaml", "--run-id", "a")
    assert code == 0, err
    code, _, err = run_cli(capsys, *common, "--config", "file:///mnt/migrator/savepoints/savepoint_1_2.yaml",
                           "--run-id", "b")
    assert code == 0, err
    steps = boto3.client("emr").list_steps(ClusterId=cluster_id)["Steps"]  # newest first
    assert [s["Config"]["Args"][-3:] for s in steps] == [
        ["migrate", "--config", "/mnt/migrator/savepoints/savepoint_1_2.yaml"],
        ["migrate", "--config", f"s3://{bucket}/configs/events.yaml"],
    ]
    assert not any("/config/" in key for key in objects(bucket))


# --- refusals: nothing uploaded, nothing started -----------------------------------------------------


def test_unknown_cluster(capsys, tmp_path, bucket, config):
    code, out, err = run_cli(capsys, "emr", "submit", "--cluster-id", "j-NOSUCHCLUSTER", "--s3-prefix",
                             f"s3://{bucket}/m", "--config", str(config), "--dist", str(tmp_path / "dist"))
    assert (code, out) == (2, "")
    assert err.endswith("migrator: error: no EMR cluster j-NOSUCHCLUSTER in this account and region (Cluster id "
                        "'j-NOSUCHCLUSTER' is not valid.)\n  hint: check --cluster-id and --region: aws emr "
                        "list-clusters --active\n")
    assert objects(bucket) == {}


def test_terminated_cluster(capsys, tmp_path, bucket, config):
    cluster_id = make_cluster()
    boto3.client("emr").terminate_job_flows(JobFlowIds=[cluster_id])
    code, _, err = run_cli(capsys, "emr", "submit", "--cluster-id", cluster_id, "--s3-prefix", f"s3://{bucket}/m",
                           "--config", str(config), "--dist", str(tmp_path / "dist"))
    assert code == 2
    assert (f"migrator: error: EMR cluster {cluster_id} is TERMINATED; steps can only be added to a cluster that is "
            "starting, running or waiting\n  hint: create a cluster (docs/emr.md) and pass its id") in err
    assert objects(bucket) == {}
    assert boto3.client("emr").list_steps(ClusterId=cluster_id)["Steps"] == []


def test_missing_local_config_fails_before_any_aws_call(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: any call would fail with 3
    code, _, err = run_cli(capsys, "emr", "submit", "--cluster-id", "j-X", "--s3-prefix", "s3://bkt/m",
                           "--config", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert f"config file not found: {tmp_path / 'nope.yaml'}" in err


def test_missing_s3_config_and_missing_bucket(capsys, tmp_path, bucket, config):
    cluster_id = make_cluster()
    common = ["emr", "submit", "--cluster-id", cluster_id, "--dist", str(tmp_path / "dist")]
    code, _, err = run_cli(capsys, *common, "--s3-prefix", f"s3://{bucket}/m", "--config",
                           f"s3://{bucket}/configs/absent.yaml")
    assert code == 2
    assert f"config file not found: s3://{bucket}/configs/absent.yaml" in err
    code, _, err = run_cli(capsys, *common, "--s3-prefix", "s3://no-such-bucket-here/m", "--config", str(config))
    assert code == 2
    assert ("migrator: error: S3 bucket 'no-such-bucket-here' does not exist (or is in another account)\n"
            "  hint: create it (aws s3 mb s3://BUCKET) or fix --s3-prefix") in err
    assert boto3.client("emr").list_steps(ClusterId=cluster_id)["Steps"] == []


def test_no_credentials(capsys, tmp_path, monkeypatch, config):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, out, err = run_cli(capsys, "emr", "submit", "--cluster-id", "j-X", "--s3-prefix", "s3://bkt/m",
                             "--config", str(config), "--dist", str(tmp_path / "dist"))
    assert (code, out) == (2, "")
    assert err.endswith("migrator: error: no AWS credentials found while describing cluster j-X\n  hint: set "
                        "AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance "
                        "role applies\n")


def test_env_built_on_another_machine_is_refused(capsys, tmp_path, bucket, config):
    dist = tmp_path / "dist"
    fake_env(dist, interpreter="/home/me/.pyenv/versions/3.11.7/bin/python3.11")
    code, _, err = run_cli(capsys, "emr", "submit", "--cluster-id", make_cluster(), "--s3-prefix",
                           f"s3://{bucket}/m", "--config", str(config), "--dist", str(dist), "--env")
    assert code == 2
    assert "its bin/python links to /home/me/.pyenv/versions/3.11.7/bin/python3.11, which the nodes do not have" in err
    assert objects(bucket) == {}


# --- following a step --------------------------------------------------------------------------------


def submit_one(capsys, tmp_path, bucket, config, cluster_id, *extra: str) -> tuple[int, str, str]:
    return run_cli(capsys, "emr", "submit", "--cluster-id", cluster_id, "--s3-prefix", f"s3://{bucket}/m",
                   "--config", str(config), "--dist", str(tmp_path / "dist"), *extra)


def test_status_follows_a_step_to_completed(capsys, tmp_path, bucket, config):
    cluster_id = make_cluster()
    code, out, _ = submit_one(capsys, tmp_path, bucket, config, cluster_id)
    step_id = out.strip()
    assert code == 0
    assert run_cli(capsys, "emr", "status", "--cluster-id", cluster_id, "--step-id", step_id)[:2] == (0, "RUNNING\n")

    started = time.monotonic()
    set_step_state(cluster_id, "COMPLETED", delay=0.4)
    code, out, err = run_cli(capsys, "emr", "status", "--cluster-id", cluster_id, "--step-id", step_id, "--wait",
                             "--poll-seconds", "0.05")
    assert (code, out) == (0, "COMPLETED\n")
    assert time.monotonic() - started >= 0.4
    assert f"step {step_id} on cluster {cluster_id}: RUNNING" in err
    assert err.endswith(f"step {step_id} on cluster {cluster_id}: COMPLETED\n")


def test_submit_wait_reports_a_failed_step(capsys, tmp_path, bucket, config):
    cluster_id = make_cluster()
    timer = set_step_state(cluster_id, "FAILED", reason="Step failed with exitCode 3", delay=0.5)
    code, out, err = submit_one(capsys, tmp_path, bucket, config, cluster_id, "--wait", "--poll-seconds", "0.05")
    timer.join()
    step_id = out.strip()
    assert code == 3
    assert err.endswith(f"migrator: error: step {step_id} on cluster {cluster_id} ended FAILED: Step failed with "
                        f"exitCode 3\n  hint: logs: s3://aws-logs-x/elasticmapreduce/{cluster_id}/steps/{step_id}/\n")


def test_status_of_unknown_step_and_a_cancelled_one(capsys, tmp_path, bucket, config):
    cluster_id = make_cluster(log_uri="")
    code, out, _ = submit_one(capsys, tmp_path, bucket, config, cluster_id)
    step_id = out.strip()
    code, _, err = run_cli(capsys, "emr", "status", "--cluster-id", cluster_id, "--step-id", "s-NOPE")
    assert code == 2
    assert f"migrator: error: no step s-NOPE on cluster {cluster_id} (not found)" in err
    set_step_state(cluster_id, "CANCELLED", reason="Cancelled by user").join()
    code, out, err = run_cli(capsys, "emr", "status", "--cluster-id", cluster_id, "--step-id", step_id)
    assert (code, out) == (3, "CANCELLED\n")
    assert err.endswith("ended CANCELLED: Cancelled by user\n")


# --- bootstrap ---------------------------------------------------------------------------------------


def test_bootstrap_uploads_the_script_and_prints_the_cluster_options(capsys, tmp_path, bucket):
    dist = tmp_path / "dist"
    code, out, err = run_cli(capsys, "emr", "bootstrap", "--s3-prefix", f"s3://{bucket}/m", "--dist", str(dist))
    assert code == 0, err
    script = Path(__file__).resolve().parents[2] / "migrator" / "deploy" / "emr" / "bootstrap.sh"
    assert objects(bucket) == {"m/bootstrap/emr_bootstrap.sh": script.read_bytes(),
                               "m/bootstrap/requirements.txt": (dist / "requirements.txt").read_bytes()}
    assert out == (
        f"""--bootstrap-actions '[{{"Name": "migrator-python", "Path": "s3://{bucket}/m/bootstrap/emr_bootstrap.sh", """
        f""""Args": ["s3://{bucket}/m/bootstrap/requirements.txt", "/usr/bin/python3.11"]}}]'\n"""
        """--configurations '[{"Classification": "spark-env", "Properties": {}, "Configurations": """
        """[{"Classification": "export", "Properties": {"PYSPARK_PYTHON": "/usr/bin/python3.11", """
        """"PYSPARK_DRIVER_PYTHON": "/usr/bin/python3.11"}}]}]'\n""")


def test_submit_warns_when_the_cluster_was_not_bootstrapped(capsys, tmp_path, bucket, config):
    cluster_id = make_cluster(bootstrap=False)
    code, _, err = submit_one(capsys, tmp_path, bucket, config, cluster_id)
    assert code == 0
    assert (f"WARNING migrator.emr: cluster {cluster_id} has no emr_bootstrap.sh bootstrap action: unless its nodes "
            "already have /usr/bin/python3.11 with the migrator's requirements") in err


# --- EMR Serverless ----------------------------------------------------------------------------------


def make_application(**kw: Any) -> str:
    return str(boto3.client("emr-serverless").create_application(
        name="migrator", releaseLabel="emr-7.9.0", type="SPARK", **kw)["applicationId"])


ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/migrator-job"


def test_serverless_submit_starts_the_exact_job_and_waits(capsys, tmp_path, bucket, config):
    app_id = make_application()
    dist = tmp_path / "dist"
    env = fake_env(dist)
    code, out, err = run_cli(capsys, "emr", "serverless-submit", "--application-id", app_id, "--execution-role-arn",
                             ROLE, "--s3-prefix", f"s3://{bucket}/m", "--config", str(config), "--dist", str(dist),
                             "--run-id", "s1", "--spark-conf", "spark.executor.cores=4", "--timeout-minutes", "1440",
                             "--wait", "--poll-seconds", "0.05")
    assert code == 0, err
    job_id = out.strip()
    job = boto3.client("emr-serverless").get_job_run(applicationId=app_id, jobRunId=job_id)["jobRun"]
    run, env_uri = f"s3://{bucket}/m/runs/s1", f"s3://{bucket}/m/envs/{sha256_of(env)[:16]}/migrator-env.tar.gz"
    assert job["jobDriver"] == {"sparkSubmit": {
        "entryPoint": f"{run}/migrator_entry.py",
        "entryPointArguments": ["migrate", "--config", f"{run}/config/events.yaml"],
        "sparkSubmitParameters": (
            f"--conf spark.submit.pyFiles={run}/migrator.zip --conf spark.archives={env_uri}#environment "
            "--conf spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON=./environment/bin/python "
            "--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON=./environment/bin/python "
            "--conf spark.executorEnv.PYSPARK_PYTHON=./environment/bin/python --conf spark.executor.cores=4"),
    }}
    assert job["configurationOverrides"] == {"monitoringConfiguration": {"s3MonitoringConfiguration": {
        "logUri": f"{run}/logs/"}}}
    assert (job["executionRole"], job["name"]) == (ROLE, "migrator migrate events.yaml (s1)")
    assert job["executionTimeoutMinutes"] == 1440
    assert set(objects(bucket)) == {"m/runs/s1/migrator.zip", "m/runs/s1/migrator_entry.py",
                                    "m/runs/s1/requirements.txt", "m/runs/s1/config/events.yaml",
                                    env_uri.removeprefix(f"s3://{bucket}/")}
    assert "EMR Serverless drivers have no lasting disk" in err
    assert err.endswith(f"job run {job_id}: SUCCESS\n")  # moto finishes job runs at once


def test_serverless_status_of_a_cancelled_run_and_refusals(capsys, tmp_path, bucket, config):
    app_id = make_application()
    common = ["emr", "serverless-submit", "--application-id", app_id, "--s3-prefix", f"s3://{bucket}/m",
              "--config", str(config), "--dist", str(tmp_path / "dist"), "--no-env"]
    code, out, err = run_cli(capsys, *common, "--execution-role-arn", ROLE)
    assert code == 0, err
    assert f"application {app_id} uses the stock image: with --no-env it needs /usr/bin/python3.11" in err
    job_id = out.strip()
    client = boto3.client("emr-serverless")
    client.cancel_job_run(applicationId=app_id, jobRunId=job_id)
    code, out, err = run_cli(capsys, "emr", "serverless-status", "--application-id", app_id, "--job-run-id", job_id,
                             "--wait", "--poll-seconds", "0.05")
    assert (code, out) == (3, "CANCELLED\n")
    assert f"migrator: error: job run {job_id} ended CANCELLED\n  hint: logs: s3://{bucket}/m/runs/" in err

    code, _, err = run_cli(capsys, *common, "--execution-role-arn", "migrator-job")
    assert code == 2 and "--execution-role-arn 'migrator-job' is not an IAM role ARN" in err
    code, _, err = run_cli(capsys, "emr", "serverless-submit", "--application-id", "00nosuchapp",
                           "--execution-role-arn", ROLE, "--s3-prefix", f"s3://{bucket}/m", "--config", str(config),
                           "--dist", str(tmp_path / "dist"), "--no-env")
    assert code == 2
    assert "migrator: error: no EMR Serverless application 00nosuchapp in this account and region" in err
    assert len(client.list_job_runs(applicationId=app_id)["jobRuns"]) == 1


def test_bare_emr_prints_help(capsys):
    code = main(["emr"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("usage: migrator emr [-h] EMR_COMMAND ...")
