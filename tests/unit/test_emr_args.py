"""EMR submission without AWS: the exact spark-submit arguments, step and job definitions, state reading,
the packed-environment check, and the bootstrap script run against stand-in commands."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from migrator.deploy.emr.artifacts import (
    check_env_interpreter,
    config_ref,
    env_interpreter,
    savepoint_warnings,
    savepoints_path,
)
from migrator.deploy.emr.state import (
    Outcome,
    check_application,
    check_cluster,
    finish,
    job_run_outcome,
    release_major,
    step_outcome,
    wait,
)
from migrator.deploy.emr.steps import (
    JobSpec,
    RunFiles,
    S3Location,
    bootstrap_action,
    check_run_id,
    cli_bootstrap_actions,
    env_location,
    new_run_id,
    parse_spark_conf,
    python_version,
    redacted,
    serverless_job_driver,
    shell_line,
    spark_env_configuration,
    spark_submit_args,
    step_definition,
    step_name,
)
from migrator.errors import EXIT_CONFIG, EXIT_RUNTIME, ConfigError, RuntimeFailure, UsageError

RUN = "s3://bkt/mig/runs/r1"
ENV = "s3://bkt/mig/envs/0123456789abcdef/migrator-env.tar.gz"
BASH = shutil.which("bash") or "/bin/bash"
BOOTSTRAP = Path(__file__).resolve().parents[2] / "migrator" / "deploy" / "emr" / "bootstrap.sh"


def files(env: str | None = None) -> RunFiles:
    return RunFiles(zip=f"{RUN}/migrator.zip", entry=f"{RUN}/migrator_entry.py", config=f"{RUN}/config/c.yaml", env=env)


# --- spark-submit arguments -------------------------------------------------------------------------


def test_client_mode_without_env_runs_the_bootstrapped_python_everywhere():
    assert spark_submit_args(JobSpec("migrate", files()), "client") == [
        "spark-submit", "--master", "yarn", "--deploy-mode", "client",
        "--conf", "spark.pyspark.python=/usr/bin/python3.11",
        "--conf", "spark.pyspark.driver.python=/usr/bin/python3.11",
        "--py-files", f"{RUN}/migrator.zip",
        f"{RUN}/migrator_entry.py", "migrate", "--config", f"{RUN}/config/c.yaml",
    ]


def test_cluster_mode_with_env_runs_the_archive_and_one_attempt_then_user_conf():
    spec = JobSpec("validate", files(ENV), spark_conf=(("spark.executor.memory", "8g"),),
                   app_args=("--report", "/mnt/reports"))
    assert spark_submit_args(spec, "cluster") == [
        "spark-submit", "--master", "yarn", "--deploy-mode", "cluster",
        "--conf", "spark.pyspark.python=./environment/bin/python",
        "--conf", "spark.yarn.maxAppAttempts=1",
        "--conf", "spark.executor.memory=8g",
        "--archives", f"{ENV}#environment",
        "--py-files", f"{RUN}/migrator.zip",
        f"{RUN}/migrator_entry.py", "validate", "--config", f"{RUN}/config/c.yaml", "--report", "/mnt/reports",
    ]


def test_client_mode_with_env_keeps_the_driver_on_the_node_python():
    args = spark_submit_args(JobSpec("migrate", files(ENV), python="/opt/py/bin/python3.11"), "client")
    assert args[5:9] == ["--conf", "spark.pyspark.python=./environment/bin/python",
                         "--conf", "spark.pyspark.driver.python=/opt/py/bin/python3.11"]
    assert args[9:11] == ["--archives", f"{ENV}#environment"]


def test_bad_deploy_mode_and_command_are_usage_errors():
    with pytest.raises(UsageError, match="--deploy-mode 'yarn'"):
        spark_submit_args(JobSpec("migrate", files()), "yarn")
    with pytest.raises(UsageError, match="unknown command 'check'"):
        JobSpec("check", files())


def test_step_definition_is_command_runner_with_the_args():
    spec = JobSpec("migrate", files())
    step = step_definition(spec, deploy_mode="client", name="n" * 300, action_on_failure="CONTINUE")
    assert step == {"Name": "n" * 256, "ActionOnFailure": "CONTINUE",
                    "HadoopJarStep": {"Jar": "command-runner.jar", "Args": spark_submit_args(spec, "client")}}
    with pytest.raises(UsageError, match="--action-on-failure 'STOP'"):
        step_definition(spec, deploy_mode="client", name="n", action_on_failure="STOP")


def test_step_name():
    assert step_name("migrate", "s3://b/x/savepoint_1.yaml", "r1") == "migrator migrate savepoint_1.yaml (r1)"


# --- EMR Serverless ----------------------------------------------------------------------------------


def test_serverless_job_driver_with_env():
    spec = JobSpec("migrate", files(ENV), spark_conf=(("spark.executor.cores", "4"),))
    assert serverless_job_driver(spec) == {"sparkSubmit": {
        "entryPoint": f"{RUN}/migrator_entry.py",
        "entryPointArguments": ["migrate", "--config", f"{RUN}/config/c.yaml"],
        "sparkSubmitParameters": (
            f"--conf spark.submit.pyFiles={RUN}/migrator.zip "
            f"--conf spark.archives={ENV}#environment "
            "--conf spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON=./environment/bin/python "
            "--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON=./environment/bin/python "
            "--conf spark.executorEnv.PYSPARK_PYTHON=./environment/bin/python "
            "--conf spark.executor.cores=4"),
    }}


def test_serverless_job_driver_without_env_uses_the_image_python():
    params = serverless_job_driver(JobSpec("migrate", files()))["sparkSubmit"]["sparkSubmitParameters"]
    assert params == (f"--conf spark.submit.pyFiles={RUN}/migrator.zip "
                      "--conf spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON=/usr/bin/python3.11 "
                      "--conf spark.emr-serverless.driverEnv.PYSPARK_PYTHON=/usr/bin/python3.11 "
                      "--conf spark.executorEnv.PYSPARK_PYTHON=/usr/bin/python3.11")


# --- small parsers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("uri", "bucket", "key"), [
    ("s3://bkt", "bkt", ""), ("s3://bkt/", "bkt", ""), ("s3a://my.bkt/a/b/", "my.bkt", "a/b"),
    ("s3n://bkt//a", "bkt", "a"),
])
def test_s3_location_parses(uri, bucket, key):
    loc = S3Location.parse(uri)
    assert (loc.bucket, loc.key) == (bucket, key)
    assert loc.child("runs", "r1/").uri == "/".join(p for p in (f"s3://{bucket}", key, "runs/r1") if p)


@pytest.mark.parametrize("uri", ["http://bkt/a", "s3://", "s3://Bad_Bucket/a", "s3://bkt/with space", "bkt/a"])
def test_s3_location_refuses(uri):
    with pytest.raises(UsageError) as info:
        S3Location.parse(uri)
    assert info.value.message == f"--s3-prefix: {uri!r} is not an S3 location"
    assert info.value.exit_code == EXIT_CONFIG


def test_run_ids_and_env_location():
    assert new_run_id(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "abcd") == "20260102-030405-abcd"
    assert len(new_run_id()) == len("20260102-030405-abcd")
    assert check_run_id("nightly_2.1") == "nightly_2.1"
    for bad in ("", "-x", "a/b", "a" * 101):
        with pytest.raises(UsageError):
            check_run_id(bad)
    assert env_location(S3Location("b", "p"), "f" * 64).uri == f"s3://b/p/envs/{'f' * 16}/migrator-env.tar.gz"


def test_spark_conf_pairs():
    assert parse_spark_conf(["a.b=1", " c = x=y"]) == (("a.b", "1"), ("c", " x=y"))
    for bad in ("novalue", "=1", "a b=1"):
        with pytest.raises(UsageError, match="--spark-conf expects KEY=VALUE"):
            parse_spark_conf([bad])
    with pytest.raises(UsageError, match="cannot pass a value containing spaces"):
        parse_spark_conf(["spark.driver.extraJavaOptions=-Da -Db"], no_spaces=True)


def test_python_version():
    assert python_version("/usr/bin/python3.11") == "3.11"
    for bad in ("python3.11", "/usr/bin/python3", "/usr/bin/py"):
        with pytest.raises(UsageError):
            python_version(bad)


def test_secret_looking_conf_values_are_redacted_for_printing():
    args = ["spark-submit", "--conf", "spark.hadoop.fs.s3a.secret.key=abc", "--conf", "spark.x.password=p",
            "--conf", "spark.executor.memory=4g", "--config", "s3://b/c.yaml"]
    assert redacted(args) == ["spark-submit", "--conf", "spark.hadoop.fs.s3a.secret.key=<redacted>",
                              "--conf", "spark.x.password=<redacted>", "--conf", "spark.executor.memory=4g",
                              "--config", "s3://b/c.yaml"]
    assert shell_line(["a b", "--conf", "k.token=t"]) == "'a b' --conf 'k.token=<redacted>'"


def test_bootstrap_action_and_spark_env():
    action = bootstrap_action("s3://b/p/bootstrap/emr_bootstrap.sh", "s3://b/p/bootstrap/requirements.txt",
                              "/usr/bin/python3.11")
    assert action == {"Name": "migrator-python", "ScriptBootstrapAction": {
        "Path": "s3://b/p/bootstrap/emr_bootstrap.sh",
        "Args": ["s3://b/p/bootstrap/requirements.txt", "/usr/bin/python3.11"]}}
    assert cli_bootstrap_actions(action) == [{"Name": "migrator-python", "Path": "s3://b/p/bootstrap/emr_bootstrap.sh",
                                              "Args": ["s3://b/p/bootstrap/requirements.txt", "/usr/bin/python3.11"]}]
    assert spark_env_configuration("/usr/bin/python3.11") == [{
        "Classification": "spark-env", "Properties": {},
        "Configurations": [{"Classification": "export", "Properties": {
            "PYSPARK_PYTHON": "/usr/bin/python3.11", "PYSPARK_DRIVER_PYTHON": "/usr/bin/python3.11"}}]}]


# --- reading states ----------------------------------------------------------------------------------


def test_failed_step_reports_failure_details_and_its_log_file():
    step = {"Id": "s-1", "Status": {"State": "FAILED", "StateChangeReason": {"Message": "ignored"}, "FailureDetails": {
        "Reason": "Unknown Error.", "Message": "Exception in thread main: exit code 3",
        "LogFile": "s3://logs/j-1/steps/s-1/stderr.gz"}}}
    assert step_outcome(step, log_uri="s3n://logs/", cluster_id="j-1") == Outcome(
        "FAILED", True, False, "Unknown Error. Exception in thread main: exit code 3", "s3://logs/j-1/steps/s-1/stderr.gz")


def test_step_without_failure_details_uses_the_state_reason_and_the_cluster_log_uri():
    step = {"Id": "s-1", "Status": {"State": "CANCELLED", "StateChangeReason": {"Message": "Cancelled by user"}}}
    assert step_outcome(step, log_uri="s3n://aws-logs-1/elasticmapreduce", cluster_id="j-1") == Outcome(
        "CANCELLED", True, False, "Cancelled by user", "s3://aws-logs-1/elasticmapreduce/j-1/steps/s-1/")
    running = step_outcome({"Id": "s-1", "Status": {"State": "RUNNING"}}, log_uri=None, cluster_id="j-1")
    assert running == Outcome("RUNNING", False, False, None, None)
    done = step_outcome({"Id": "s-1", "Status": {"State": "COMPLETED"}}, log_uri=None, cluster_id="j-1")
    assert (done.terminal, done.succeeded) == (True, True)


def test_job_run_outcome():
    run = {"applicationId": "app", "jobRunId": "job", "state": "FAILED", "stateDetails": "Job failed, exit 2",
           "configurationOverrides": {"monitoringConfiguration": {"s3MonitoringConfiguration": {
               "logUri": "s3://b/p/runs/r1/logs/"}}}}
    assert job_run_outcome(run) == Outcome("FAILED", True, False, "Job failed, exit 2",
                                           "s3://b/p/runs/r1/logs/applications/app/jobs/job/")
    assert job_run_outcome({"state": "SUCCESS"}) == Outcome("SUCCESS", True, True, None, None)
    assert job_run_outcome({"state": "SCHEDULED"}).terminal is False


def cluster(**kw):
    base = {"Id": "j-1", "Status": {"State": "WAITING"}, "Applications": [{"Name": "Spark"}],
            "ReleaseLabel": "emr-7.9.0"}
    return {**base, **kw}


def test_cluster_checks():
    assert check_cluster(cluster()) == []
    assert check_cluster(cluster(ReleaseLabel="emr-spark-8.0.0")) == []
    assert check_cluster(cluster(ReleaseLabel="emr-6.15.0")) == [
        "cluster j-1 runs emr-6.15.0: the migrator needs Spark 3.5 or later and Python 3.11, i.e. EMR 7.x or "
        "emr-spark-8; expect the step to fail"]
    with pytest.raises(UsageError) as info:
        check_cluster(cluster(Status={"State": "TERMINATED", "StateChangeReason": {"Message": "Terminated by user"}}))
    assert info.value.message.startswith("EMR cluster j-1 is TERMINATED (Terminated by user); steps can only")
    with pytest.raises(UsageError, match="has no Spark installed \\(applications: hive\\)"):
        check_cluster(cluster(Applications=[{"Name": "Hive"}]))
    assert (release_major("emr-7.12.0"), release_major("emr-spark-8.0.0"), release_major("x")) == (7, 8, None)


def test_application_checks():
    assert check_application({"applicationId": "a", "state": "STOPPED", "type": "Spark",
                              "releaseLabel": "emr-7.9.0"}) == []
    with pytest.raises(UsageError, match="application a is TERMINATED"):
        check_application({"applicationId": "a", "state": "TERMINATED", "type": "Spark"})
    with pytest.raises(UsageError, match="of type 'Hive', not Spark"):
        check_application({"applicationId": "a", "state": "STARTED", "type": "Hive"})


def test_wait_polls_until_terminal():
    states = iter([Outcome("PENDING", False, False), Outcome("RUNNING", False, False),
                   Outcome("RUNNING", False, False), Outcome("COMPLETED", True, True)])
    slept: list[float] = []
    assert wait(lambda: next(states), poll_seconds=7, what="step", sleep=slept.append).state == "COMPLETED"
    assert slept == [7, 7, 7]


def test_finish():
    assert finish(Outcome("COMPLETED", True, True), "step s-1") == 0
    with pytest.raises(RuntimeFailure) as info:
        finish(Outcome("FAILED", True, False, "exit 3", "s3://l/"), "step s-1")
    assert info.value.render() == "step s-1 ended FAILED: exit 3\n  hint: logs: s3://l/"
    assert info.value.exit_code == EXIT_RUNTIME


# --- local inputs ------------------------------------------------------------------------------------


def fake_env(path: Path, links: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        data = b"home = /usr/bin\n"
        info = tarfile.TarInfo("pyvenv.cfg")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for name, target in links.items():
            link = tarfile.TarInfo(name)
            link.type, link.linkname = tarfile.SYMTYPE, target
            tar.addfile(link)
    return path


def test_env_interpreter_follows_links_inside_the_archive(tmp_path):
    good = fake_env(tmp_path / "good.tar.gz", {"bin/python": "python3", "bin/python3": "python3.11",
                                               "./bin/python3.11": "/usr/bin/python3.11"})
    assert env_interpreter(good) == "/usr/bin/python3.11"
    check_env_interpreter(good, "/usr/bin/python3.11")


def test_env_built_elsewhere_is_refused(tmp_path):
    laptop = fake_env(tmp_path / "laptop.tar.gz", {"bin/python": "python3",
                                                   "bin/python3": "/root/.pyenv/versions/3.11.7/bin/python3"})
    with pytest.raises(UsageError) as info:
        check_env_interpreter(laptop, "/usr/bin/python3.11")
    assert info.value.message == (f"{laptop}: its bin/python links to /root/.pyenv/versions/3.11.7/bin/python3, which "
                                  "the nodes do not have (they run /usr/bin/python3.11); venv-pack archives do not "
                                  "contain the interpreter")
    with pytest.raises(UsageError, match="no bin/python link found"):
        check_env_interpreter(fake_env(tmp_path / "none.tar.gz", {}), "/usr/bin/python3.11")
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(UsageError, match="cannot read the packed environment"):
        check_env_interpreter(tmp_path / "junk.tar.gz", "/usr/bin/python3.11")


def test_config_ref(tmp_path):
    (tmp_path / "c.yaml").write_text("a: 1\n")
    assert config_ref(str(tmp_path / "c.yaml")).kind == "local"
    assert config_ref("s3a://b/c.yaml").kind == "s3"
    node = config_ref("file:///mnt/migrator/savepoints/savepoint_1.yaml")
    assert (node.kind, node.value, node.name) == (
        "node", "/mnt/migrator/savepoints/savepoint_1.yaml", "savepoint_1.yaml")
    with pytest.raises(ConfigError) as info:
        config_ref(str(tmp_path / "missing.yaml"))
    assert info.value.exit_code == EXIT_CONFIG
    assert f"config file not found: {tmp_path / 'missing.yaml'}" in info.value.message
    with pytest.raises(ConfigError, match="is a directory"):
        config_ref(str(tmp_path))
    with pytest.raises(UsageError, match="must name an absolute path"):
        config_ref("file://relative.yaml")


def test_savepoint_warnings():
    assert savepoints_path("source: {}\n") == "savepoints"
    assert savepoints_path("savepoints:\n  path: /mnt/sp\n") == "/mnt/sp"
    assert savepoint_warnings("/mnt/sp", deploy_mode="client") == []
    assert savepoint_warnings(None, deploy_mode="client") == []
    assert savepoint_warnings("sp", deploy_mode="client")[0].startswith("savepoints.path 'sp' is relative")
    assert savepoint_warnings("/mnt/sp", deploy_mode="cluster")[0].startswith("in cluster mode the driver")
    assert savepoint_warnings(None, deploy_mode="cluster", serverless=True)[0].startswith("EMR Serverless drivers")
    assert savepoint_warnings("s3://b/sp", deploy_mode="cluster") == []
    assert savepoint_warnings("s3a://b/sp", deploy_mode="cluster", serverless=True) == []
    with pytest.raises(ConfigError, match="malformed YAML at line 2, column 5"):
        savepoints_path("a: 1\nb: c: d\n")
    with pytest.raises(ConfigError, match="not a mapping"):
        savepoints_path("- 1\n")


# --- the bootstrap script, against stand-ins for sudo, dnf, aws and the interpreter -------------------

SHIMS = {
    "sudo": '#!/bin/sh\nexec "$@"\n',
    "dnf": '#!/bin/sh\necho "dnf $*" >> "$CALLS"\ncp "$FAKE_PYTHON_SRC" "$FAKE_PYTHON"\nchmod +x "$FAKE_PYTHON"\n',
    "aws": '#!/bin/sh\necho "aws $*" >> "$CALLS"\ncp "$REQUIREMENTS_SRC" "$5"\n',
}
FAKE_PYTHON = """#!/bin/sh
if [ "$1 $2 $3" = "-m pip --version" ]; then exit 0; fi
if [ "$1" = "--version" ]; then echo "Python 3.11.9"; exit 0; fi
echo "python $* PIP_BREAK_SYSTEM_PACKAGES=$PIP_BREAK_SYSTEM_PACKAGES" >> "$CALLS"
for last; do :; done
cat "$last" >> "$CALLS"
"""


def run_bootstrap(tmp_path: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    shims = tmp_path / "shims"
    shims.mkdir(exist_ok=True)
    for name, text in SHIMS.items():
        (shims / name).write_text(text)
        (shims / name).chmod(0o755)
    (tmp_path / "python-src").write_text(FAKE_PYTHON)
    (tmp_path / "requirements-src.txt").write_text("pyyaml>=6\nrich>=13\n")
    env = {"PATH": path or f"{shims}:/usr/bin:/bin", "CALLS": str(tmp_path / "calls"),
           "FAKE_PYTHON_SRC": str(tmp_path / "python-src"), "FAKE_PYTHON": str(tmp_path / "python3.11"),
           "REQUIREMENTS_SRC": str(tmp_path / "requirements-src.txt"), "HOME": str(tmp_path)}
    return subprocess.run([BASH, str(BOOTSTRAP), *args], env=env, capture_output=True, text=True, check=False,
                          timeout=30)


def test_bootstrap_installs_python_then_the_requirements_and_is_idempotent(tmp_path):
    python = str(tmp_path / "python3.11")
    first = run_bootstrap(tmp_path, "s3://b/p/bootstrap/requirements.txt", python)
    assert first.returncode == 0, first.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0] == "dnf install -y -q python3.11 python3.11-pip"
    assert calls[1].startswith("aws s3 cp --only-show-errors s3://b/p/bootstrap/requirements.txt /")
    assert calls[2].startswith("python -m pip install --quiet --disable-pip-version-check --no-input -r /")
    assert calls[2].endswith("/requirements.txt PIP_BREAK_SYSTEM_PACKAGES=1")
    assert calls[3:] == ["pyyaml>=6", "rich>=13"]
    assert first.stderr.splitlines()[-1] == f"migrator bootstrap: ready: Python 3.11.9 at {python}"

    (tmp_path / "calls").unlink()
    second = run_bootstrap(tmp_path, "s3://b/p/bootstrap/requirements.txt", python)
    assert second.returncode == 0, second.stderr
    assert not any(c.startswith("dnf") for c in (tmp_path / "calls").read_text().splitlines())
    assert f"migrator bootstrap: {python} with pip is already installed" in second.stderr


def test_bootstrap_refuses_bad_arguments_and_non_dnf_systems(tmp_path):
    bad_uri = run_bootstrap(tmp_path, "https://b/requirements.txt")
    assert (bad_uri.returncode, bad_uri.stderr.strip()) == (
        2, "migrator bootstrap: the first argument must be an s3:// URI, got 'https://b/requirements.txt'")
    missing = run_bootstrap(tmp_path)
    assert missing.returncode != 0 and "usage: emr_bootstrap.sh S3_URI_OF_REQUIREMENTS" in missing.stderr
    only_basename = tmp_path / "only-basename"  # a PATH without dnf, whatever this machine has
    only_basename.mkdir()
    os.symlink(shutil.which("basename") or "/usr/bin/basename", only_basename / "basename")
    result = run_bootstrap(tmp_path, "s3://b/r.txt", str(tmp_path / "absent" / "python3.11"), path=str(only_basename))
    assert result.returncode == 2
    assert "dnf not found: this script needs Amazon Linux 2023 nodes" in result.stderr
