"""What an EMR submission is made of, as plain data: S3 layout, spark-submit arguments, step and job definitions.

Pure functions, no AWS calls, so the exact step a submission adds can be checked without a cluster.

Layout under the user's ``--s3-prefix``:

* ``runs/<run-id>/``: one folder per submission (zip, entry script, requirements, config), so runs
  never overwrite each other and an old run can be re-read later;
* ``envs/<sha256 prefix>/migrator-env.tar.gz``: a packed environment, stored once per content;
* ``bootstrap/``: the bootstrap script and the requirements it installs, referenced by clusters.

How Python is chosen, given that PythonRunner (the driver launcher, in both YARN deploy modes) takes
``spark.pyspark.driver.python``, then ``spark.pyspark.python``, then the ``PYSPARK_*`` variables,
and passes ``spark.pyspark.python`` on to the executors:

* no packed environment: driver and executors run ``python`` (default ``/usr/bin/python3.11``, put
  there with the dependencies by the bootstrap action);
* a packed environment in cluster mode: everything runs ``./environment/bin/python`` from the archive;
* a packed environment in client mode: the executors use the archive, the driver (on the primary
  node, where YARN unpacks nothing) runs ``python``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from migrator.deploy.package import ENV_ALIAS, ENV_NAME
from migrator.errors import UsageError

DEFAULT_PYTHON = "/usr/bin/python3.11"
ENV_PYTHON = f"./{ENV_ALIAS}/bin/python"
COMMANDS = ("migrate", "validate")
DEPLOY_MODES = ("client", "cluster")
ACTIONS_ON_FAILURE = ("CONTINUE", "CANCEL_AND_WAIT", "TERMINATE_CLUSTER")
COMMAND_RUNNER = "command-runner.jar"
BOOTSTRAP_NAME = "emr_bootstrap.sh"  # its object name under bootstrap/, which clusters are checked for
BOOTSTRAP_RESOURCE = "bootstrap.sh"  # the same script as shipped in this package (migrator.deploy.emr)
BOOTSTRAP_ACTION_NAME = "migrator-python"
STEP_NAME_LIMIT = 256  # EMR refuses longer step names
ENV_DIGEST_CHARS = 16

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX_RE = re.compile(r"^(?:s3|s3a|s3n)://([^/]*)/?(.*)$")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_PYTHON_RE = re.compile(r"^/\S*python(\d+\.\d+)$")
_SECRET_KEY_RE = re.compile(r"pass|secret|token|credential|access.?key", re.IGNORECASE)


@dataclass(frozen=True)
class S3Location:
    """A bucket and a key (or key prefix, without leading or trailing slash; empty for the bucket root)."""

    bucket: str
    key: str = ""

    @classmethod
    def parse(cls, uri: str, what: str = "--s3-prefix") -> S3Location:
        """Parse ``s3://bucket[/prefix]`` (``s3a://`` and ``s3n://`` too); a malformed URI is a ``UsageError``."""
        match = _PREFIX_RE.match(uri.strip())
        if match is None or not _BUCKET_RE.match(match.group(1)) or any(c.isspace() for c in uri.strip()):
            raise UsageError(f"{what}: {uri!r} is not an S3 location",
                             hint="write s3://BUCKET/PREFIX (a bucket name is 3-63 lowercase letters, "
                             "digits, dots or hyphens; no spaces)")
        return cls(match.group(1), match.group(2).strip("/"))

    def child(self, *parts: str) -> S3Location:
        """The location ``parts`` below this one."""
        return S3Location(self.bucket, "/".join(p.strip("/") for p in (self.key, *parts) if p.strip("/")))

    @property
    def uri(self) -> str:
        """``s3://bucket/key`` (EMRFS and boto3 both read this scheme)."""
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"


def new_run_id(now: datetime | None = None, token: str | None = None) -> str:
    """A sortable, unique enough run id: ``YYYYMMDD-HHMMSS-xxxx`` in UTC."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{token or secrets.token_hex(2)}"


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is safe as one S3 folder name, else a ``UsageError``."""
    if not _RUN_ID_RE.match(run_id):
        raise UsageError(f"--run-id {run_id!r}: use 1-100 letters, digits, '.', '_' or '-', starting with a "
                         "letter or digit")
    return run_id


def run_location(prefix: S3Location, run_id: str) -> S3Location:
    """Where the files of run ``run_id`` go."""
    return prefix.child("runs", run_id)


def env_location(prefix: S3Location, sha256_hex: str) -> S3Location:
    """Where a packed environment with this content digest goes (shared by runs)."""
    return prefix.child("envs", sha256_hex[:ENV_DIGEST_CHARS], ENV_NAME)


def bootstrap_location(prefix: S3Location) -> S3Location:
    """The folder holding the bootstrap script and its requirements."""
    return prefix.child("bootstrap")


def python_version(python: str) -> str:
    """``3.11`` for ``/usr/bin/python3.11``: the version the bootstrap installs from the OS packages."""
    match = _PYTHON_RE.match(python)
    if match is None:
        raise UsageError(f"--python {python!r}: expected an absolute path ending in pythonX.Y",
                         hint="on EMR 7 and later: /usr/bin/python3.11")
    return match.group(1)


def parse_spark_conf(pairs: Iterable[str], *, no_spaces: bool = False) -> tuple[tuple[str, str], ...]:
    """``KEY=VALUE`` strings as pairs; a malformed one is a ``UsageError``.

    ``no_spaces``: EMR Serverless takes the submit parameters as one space-separated string, so a
    value holding whitespace cannot be passed there.
    """
    parsed = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or any(c.isspace() for c in key):
            raise UsageError(f"--spark-conf expects KEY=VALUE, got {pair!r}")
        if no_spaces and any(c.isspace() for c in value):
            raise UsageError(f"--spark-conf {key}: EMR Serverless cannot pass a value containing spaces")
        parsed.append((key, value))
    return tuple(parsed)


@dataclass(frozen=True)
class RunFiles:
    """The URIs one submission runs from; ``config`` may also be a path on the driver's node."""

    zip: str
    entry: str
    config: str
    env: str | None = None


@dataclass(frozen=True)
class JobSpec:
    """What to run and how Python is found, independent of EMR on EC2 or Serverless."""

    command: str
    files: RunFiles
    python: str = DEFAULT_PYTHON
    spark_conf: tuple[tuple[str, str], ...] = ()
    app_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.command not in COMMANDS:
            raise UsageError(f"unknown command {self.command!r}; expected one of {', '.join(COMMANDS)}")


def app_arguments(spec: JobSpec) -> list[str]:
    """The arguments after the entry script: ``migrate --config URI ...``."""
    return [spec.command, "--config", spec.files.config, *spec.app_args]


def python_conf(spec: JobSpec, deploy_mode: str) -> list[tuple[str, str]]:
    """The ``spark.pyspark.*`` settings for a YARN submission (see the module docstring)."""
    if spec.files.env is None:
        return [("spark.pyspark.python", spec.python), ("spark.pyspark.driver.python", spec.python)]
    if deploy_mode == "cluster":
        return [("spark.pyspark.python", ENV_PYTHON)]
    return [("spark.pyspark.python", ENV_PYTHON), ("spark.pyspark.driver.python", spec.python)]


def spark_submit_args(spec: JobSpec, deploy_mode: str) -> list[str]:
    """The ``spark-submit`` command line an EMR step runs through ``command-runner.jar``.

    The user's ``--spark-conf`` pairs come after ours: spark-submit keeps the last value of a key.
    In cluster mode YARN would otherwise start a failed driver a second time, re-running a
    migration from its beginning; one attempt is asked for.
    """
    if deploy_mode not in DEPLOY_MODES:
        raise UsageError(f"--deploy-mode {deploy_mode!r}: expected client or cluster")
    conf = python_conf(spec, deploy_mode)
    if deploy_mode == "cluster":
        conf.append(("spark.yarn.maxAppAttempts", "1"))
    conf.extend(spec.spark_conf)
    args = ["spark-submit", "--master", "yarn", "--deploy-mode", deploy_mode]
    for key, value in conf:
        args += ["--conf", f"{key}={value}"]
    if spec.files.env is not None:
        args += ["--archives", f"{spec.files.env}#{ENV_ALIAS}"]
    args += ["--py-files", spec.files.zip, spec.files.entry, *app_arguments(spec)]
    return args


def step_name(command: str, config: str, run_id: str) -> str:
    """The default step name: ``migrator migrate config.yaml (run-id)``."""
    base = config.rstrip("/").rsplit("/", 1)[-1]
    return f"migrator {command} {base} ({run_id})"[:STEP_NAME_LIMIT]


def step_definition(spec: JobSpec, *, deploy_mode: str, name: str, action_on_failure: str) -> dict[str, Any]:
    """The ``Steps`` item for ``add_job_flow_steps``."""
    if action_on_failure not in ACTIONS_ON_FAILURE:
        raise UsageError(f"--action-on-failure {action_on_failure!r}: expected one of {', '.join(ACTIONS_ON_FAILURE)}")
    return {
        "Name": name[:STEP_NAME_LIMIT],
        "ActionOnFailure": action_on_failure,
        "HadoopJarStep": {"Jar": COMMAND_RUNNER, "Args": spark_submit_args(spec, deploy_mode)},
    }


def serverless_conf(spec: JobSpec) -> list[tuple[str, str]]:
    """The ``--conf`` pairs of an EMR Serverless job: code, environment, interpreters, then the user's."""
    python = ENV_PYTHON if spec.files.env is not None else spec.python
    conf = [("spark.submit.pyFiles", spec.files.zip)]
    if spec.files.env is not None:
        conf.append(("spark.archives", f"{spec.files.env}#{ENV_ALIAS}"))
    conf += [
        ("spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON", python),
        ("spark.emr-serverless.driverEnv.PYSPARK_PYTHON", python),
        ("spark.executorEnv.PYSPARK_PYTHON", python),
    ]
    return conf + list(spec.spark_conf)


def serverless_job_driver(spec: JobSpec) -> dict[str, Any]:
    """The ``jobDriver`` argument of ``emr-serverless start_job_run``."""
    return {
        "sparkSubmit": {
            "entryPoint": spec.files.entry,
            "entryPointArguments": app_arguments(spec),
            "sparkSubmitParameters": " ".join(f"--conf {k}={v}" for k, v in serverless_conf(spec)),
        }
    }


def bootstrap_action(script_uri: str, requirements_uri: str, python: str) -> dict[str, Any]:
    """The ``BootstrapActions`` item (``run_job_flow`` / ``aws emr create-cluster``) that prepares nodes."""
    return {
        "Name": BOOTSTRAP_ACTION_NAME,
        "ScriptBootstrapAction": {"Path": script_uri, "Args": [requirements_uri, python]},
    }


def cli_bootstrap_actions(action: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``action`` in the shape ``aws emr create-cluster --bootstrap-actions`` takes (Path/Args/Name)."""
    script = action["ScriptBootstrapAction"]
    return [{"Name": action["Name"], "Path": script["Path"], "Args": list(script["Args"])}]


def spark_env_configuration(python: str) -> list[dict[str, Any]]:
    """The ``Configurations`` making ``python`` the default PySpark interpreter of a cluster.

    Steps added by ``migrator emr submit`` name the interpreter themselves; this serves everything
    else (notebooks, a hand-written spark-submit).
    """
    exports = {"PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python}
    return [{"Classification": "spark-env", "Properties": {},
             "Configurations": [{"Classification": "export", "Properties": exports}]}]


def redacted(args: Sequence[str]) -> list[str]:
    """``args`` with the value of any secret-looking ``--conf key=value`` replaced, for printing."""
    shown = list(args)
    for i, arg in enumerate(shown):
        key, sep, _ = arg.partition("=")
        after_conf = i > 0 and shown[i - 1] == "--conf"
        if sep and (after_conf or arg.startswith("--conf ")) and _SECRET_KEY_RE.search(key):
            shown[i] = f"{key}=<redacted>"
    return shown


def redacted_parameters(parameters: str) -> str:
    """A Serverless ``sparkSubmitParameters`` string with secret-looking values replaced."""
    return " ".join(redacted(parameters.split(" ")))


def shell_line(args: Sequence[str]) -> str:
    """``args`` as one readable, shell-quoted line (redacted)."""
    import shlex

    return " ".join(shlex.quote(a) for a in redacted(args))


def bootstrap_scripts(actions: Iterable[Mapping[str, Any]]) -> list[str]:
    """The script paths of ``list_bootstrap_actions`` items."""
    return [str(a.get("ScriptPath", "")) for a in actions]
