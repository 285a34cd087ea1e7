"""Static checks of the docker/ deployment: no Docker engine runs here, so nothing is built or started.

What can be checked without one: the compose file as docker-compose itself reads it (services, shared
image, ScyllaDB flags, volumes against the configs), hadolint on the Dockerfile, every config loading
with the migrator's own loader, the build context letting through every file the Dockerfile copies,
and the image's entrypoint and requirements helper, run directly.

Needs docker-compose, shellcheck and hadolint: ``scripts/setup-tools`` installs them (hadolint into .venv-tools).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from migrator.backends.base import backend_for
from migrator.cli import _spark_conf, build_parser
from migrator.config import AlternatorTarget, CassandraSource, CassandraTarget, DynamoDBSource, load_config
from tests.deploy.tools import find_tool

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "docker-compose.yml"
DOCKERFILE = DOCKER / "Dockerfile"
CONFIGS = sorted((DOCKER / "config").glob("*.yaml"))
SPARK_SERVICES = ("spark-master", "spark-worker-1", "spark-worker-2", "migrator")
SERVICES = {*SPARK_SERVICES, "scylla-source", "scylla-target", "dynamodb"}
SCYLLA_FLAGS = "--smp 1 --memory 1G --overprovisioned 1 --developer-mode 1"
ALTERNATOR_FLAGS = "--alternator-port 8000 --alternator-write-isolation only_rmw_uses_lwt"
# Variables the compose file reads: unset, so the test sees the defaults whatever the caller exported.
COMPOSE_VARIABLES = ("SPARK_WORKER_CORES", "SPARK_WORKER_MEMORY", "SCYLLA_MEMORY")
ENTRYPOINT_VARIABLES = ("MIGRATOR_SPARK_MASTER", "MIGRATOR_DRIVER_HOST", "MIGRATOR_DRIVER_PORT",
                        "MIGRATOR_BLOCK_MANAGER_PORT")


def compose(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``docker-compose -f docker/docker-compose.yml ARGS``, blind to the caller's variables and docker/.env."""
    clean = {k: v for k, v in os.environ.items() if k not in COMPOSE_VARIABLES and not k.startswith("COMPOSE_")}
    with tempfile.NamedTemporaryFile("w", suffix=".env") as no_env_file:
        return subprocess.run(
            [find_tool("docker-compose"), "--env-file", no_env_file.name, "-f", str(COMPOSE_FILE), *args],
            cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60, check=False,
        )


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    """The compose file as ``docker-compose config`` resolves it (anchors merged, defaults filled)."""
    result = compose("config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_config_is_valid() -> None:
    result = compose("config", "-q")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_compose_services(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    assert set(services) == SERVICES
    assert set(rendered["volumes"]) == {"savepoints", "reports"}
    # one image, built from the repository root, for every Spark node and the driver
    build = {"context": str(ROOT), "dockerfile": "docker/Dockerfile"}
    assert {s: (services[s]["build"], services[s]["image"]) for s in SPARK_SERVICES} == {
        s: (build, "migrator:local") for s in SPARK_SERVICES}
    assert services["spark-master"]["command"][:2] == ["/opt/spark/bin/spark-class",
                                                      "org.apache.spark.deploy.master.Master"]
    for worker in ("spark-worker-1", "spark-worker-2"):
        assert services[worker]["command"] == ["/opt/spark/bin/spark-class", "org.apache.spark.deploy.worker.Worker",
                                               "spark://spark-master:7077"]
        assert services[worker]["environment"] == {"SPARK_WORKER_CORES": "2", "SPARK_WORKER_MEMORY": "2g",
                                                   "SPARK_WORKER_WEBUI_PORT": "8081"}
    assert services["migrator"]["environment"]["MIGRATOR_SPARK_MASTER"] == "spark://spark-master:7077"
    assert services["migrator"]["profiles"] == ["migrator"]


def test_scylla_nodes_and_their_flags(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    source, target = services["scylla-source"], services["scylla-target"]
    assert source["command"] == f"{SCYLLA_FLAGS} --cluster-name scylla-source"
    assert target["command"] == f"{SCYLLA_FLAGS} --cluster-name scylla-target {ALTERNATOR_FLAGS}"
    for node in (source, target):
        assert node["image"] == "scylladb/scylla:2025.1"
        assert node["healthcheck"]["test"] == ["CMD-SHELL", "cqlsh -e 'describe keyspaces' > /dev/null"]
        assert node["volumes"] == [f"{DOCKER / 'cql'}:/cql:ro"]
    assert services["dynamodb"]["image"] == "motoserver/moto:5.2.5"  # open source, unlike DynamoDB Local
    # `docker compose run migrator` waits for healthy databases and a master that accepts connections
    assert services["migrator"]["depends_on"] == {
        "scylla-source": {"condition": "service_healthy"},
        "scylla-target": {"condition": "service_healthy"},
        "spark-master": {"condition": "service_healthy"},
        "spark-worker-1": {"condition": "service_started"},
        "spark-worker-2": {"condition": "service_started"},
    }
    assert "healthcheck" in services["spark-master"]


def test_sizes_come_from_the_environment() -> None:
    result = compose("config", SPARK_WORKER_CORES="6", SPARK_WORKER_MEMORY="12g", SCYLLA_MEMORY="4G")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services["spark-worker-2"]["environment"]["SPARK_WORKER_CORES"] == "6"
    assert services["spark-worker-2"]["environment"]["SPARK_WORKER_MEMORY"] == "12g"
    assert services["scylla-target"]["command"].startswith("--smp 1 --memory 4G ")


def test_configs_and_mounts_agree(rendered: dict[str, Any]) -> None:
    """The savepoint folder of the configs (test_config_loads) is a volume; the demo's hosts are services."""
    migrator = rendered["services"]["migrator"]
    mounts = {volume.split(":")[1]: volume for volume in migrator["volumes"]}
    assert mounts == {
        "/app/config": f"{DOCKER / 'config'}:/app/config:ro",
        "/app/savepoints": "savepoints:/app/savepoints:rw",
        "/app/reports": "reports:/app/reports:rw",
    }
    config = load_config(DOCKER / "config" / "scylla-to-scylla.yaml", environ={}).model
    assert isinstance(config.source, CassandraSource)
    assert isinstance(config.target, CassandraTarget)
    assert (config.source.host, config.source.port, config.target.host, config.target.port) == (
        "scylla-source", 9042, "scylla-target", 9042)
    assert config.savepoints.location == "/app/savepoints"
    assert config.validation is not None


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_loads(path: Path) -> None:
    loaded = load_config(path, environ={})
    assert loaded.model.savepoints.location == "/app/savepoints"


def test_config_list() -> None:
    assert {"dynamodb-to-alternator.yaml", "scylla-to-scylla.yaml"} <= {p.name for p in CONFIGS}


def test_dynamodb_config_is_served_by_the_dynamodb_backend() -> None:
    model = load_config(DOCKER / "config" / "dynamodb-to-alternator.yaml", environ={}).model
    assert isinstance(model.source, DynamoDBSource)
    assert isinstance(model.target, AlternatorTarget)
    assert model.source.endpoint is not None
    assert model.target.endpoint is not None
    assert (model.source.endpoint.host, model.target.endpoint.host) == ("http://dynamodb", "http://scylla-target")
    assert backend_for(model).name == "dynamodb"


def test_hadolint_is_clean() -> None:
    result = subprocess.run([find_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_every_hadolint_ignore_says_why() -> None:
    lines = DOCKERFILE.read_text().splitlines()
    ignores = [i for i, line in enumerate(lines) if line.startswith("# hadolint ignore=")]
    assert ignores == [i for i in ignores if i > 0 and lines[i - 1].startswith("# ")
                       and "hadolint" not in lines[i - 1]]


def test_base_image_and_python_fit_the_project() -> None:
    """The official Spark image (no bitnami), whose Spark fits pyproject's pyspark range; Python 3.11."""
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert len(froms) == 1
    match = re.fullmatch(r"apache/spark:(\d+\.\d+\.\d+)-scala2\.13-java17-ubuntu", froms[0])
    assert match is not None, froms[0]
    project = _pyproject()["project"]
    pyspark = next(d for d in project["dependencies"] if d.startswith("pyspark"))
    assert match.group(1) in SpecifierSet(pyspark.removeprefix("pyspark"))
    assert "3.11" in SpecifierSet(project["requires-python"])
    assert "python3.11 python3.11-venv" in text
    assert "bitnami" not in text + COMPOSE_FILE.read_text()


# --- the build context -------------------------------------------------------------------------

def _dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        glob = line.removeprefix("!").strip("/")
        regex = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?)", glob):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
        patterns.append((include, re.compile(regex)))
    return patterns


def excluded(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    state = False
    for include, pattern in patterns:
        if any(pattern.fullmatch(p) for p in prefixes):
            state = not include
    return state


def _copied_sources() -> list[str]:
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        words = shlex.split(line) if line.startswith("COPY ") else []
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


def test_every_copied_file_is_in_the_build_context() -> None:
    patterns = _dockerignore_patterns()
    sources = _copied_sources()
    assert sources == ["pyproject.toml", "docker/runtime_requirements.py", "README.md", "migrator",
                       "docker/entrypoint.sh"]
    for source in sources:
        path = ROOT / source
        assert path.exists(), source
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
        wanted = [f.relative_to(ROOT).as_posix() for f in files if "__pycache__" not in f.parts]
        assert wanted, source
        assert [f for f in wanted if excluded(f, patterns)] == []


def test_local_state_stays_out_of_the_build_context() -> None:
    patterns = _dockerignore_patterns()
    for path in (".git/config", ".venv/bin/python", ".venv-tools/bin/hadolint", ".services.env",
                 "savepoints/savepoint_1_0.yaml", "reports/demo/report.json", "tests/unit/test_cli.py",
                 "bench/RESULTS.md", "dist/migrator.zip", "migrator/__pycache__/cli.cpython-311.pyc",
                 "docker/config/scylla-to-scylla.yaml"):
        assert excluded(path, patterns), path


# --- what runs inside the image, run here directly ---------------------------------------------

def _pyproject() -> dict[str, Any]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_runtime_requirements_are_pyproject_without_pyspark() -> None:
    result = subprocess.run([sys.executable, str(DOCKER / "runtime_requirements.py"), str(ROOT / "pyproject.toml")],
                            capture_output=True, text=True, timeout=30, check=True)
    dependencies = _pyproject()["project"]["dependencies"]
    pyspark = [d for d in dependencies if re.match(r"pyspark\b", d, re.IGNORECASE)]
    assert len(pyspark) == 1
    assert result.stdout.splitlines() == [d for d in dependencies if d not in pyspark]


def test_entrypoint_passes_shellcheck() -> None:
    result = subprocess.run([find_tool("shellcheck"), str(DOCKER / "entrypoint.sh")], capture_output=True, text=True,
                            timeout=60, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.fixture
def entrypoint(tmp_path: Path) -> Any:
    """Run docker/entrypoint.sh with a stand-in ``migrator`` that prints its arguments as JSON."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "migrator"
    fake.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -c "
                    "'import json, sys; print(json.dumps(sys.argv[1:]))' \"$@\"\n")
    fake.chmod(0o755)

    def run(*args: str, **env: str) -> list[str]:
        clean = {k: v for k, v in os.environ.items() if k not in ENTRYPOINT_VARIABLES}
        clean["PATH"] = f"{bin_dir}{os.pathsep}{clean.get('PATH', '')}"
        result = subprocess.run(["bash", str(DOCKER / "entrypoint.sh"), *args], env={**clean, **env},
                                capture_output=True, text=True, timeout=30, check=False)
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
        return json.loads(result.stdout)

    return run


def test_entrypoint_adds_the_spark_settings_first(entrypoint: Any) -> None:
    argv = entrypoint("migrate", "--config", "/app/config/c.yaml", "--conf", "spark.driver.port=9999",
                      MIGRATOR_SPARK_MASTER="spark://spark-master:7077", MIGRATOR_DRIVER_HOST="10.0.0.9")
    assert argv == ["migrate", "--master", "spark://spark-master:7077",
                    "--conf", "spark.driver.host=10.0.0.9", "--conf", "spark.driver.bindAddress=0.0.0.0",
                    "--conf", "spark.driver.port=7078", "--conf", "spark.driver.blockManager.port=7079",
                    "--config", "/app/config/c.yaml", "--conf", "spark.driver.port=9999"]
    # the migrator's own parser takes them, and the user's --conf wins over the entrypoint's
    args = build_parser().parse_args(argv)
    assert (args.command, args.master, args.config) == ("migrate", "spark://spark-master:7077", "/app/config/c.yaml")
    assert _spark_conf(args.conf) == {"spark.driver.host": "10.0.0.9", "spark.driver.bindAddress": "0.0.0.0",
                                      "spark.driver.port": "9999", "spark.driver.blockManager.port": "7079"}


def test_entrypoint_without_master_or_fixed_ports(entrypoint: Any) -> None:
    argv = entrypoint("migrator", "validate", "--report", "/app/reports/r1", MIGRATOR_DRIVER_HOST="migrator",
                      MIGRATOR_DRIVER_PORT="", MIGRATOR_BLOCK_MANAGER_PORT="")
    assert argv == ["validate", "--conf", "spark.driver.host=migrator", "--conf", "spark.driver.bindAddress=0.0.0.0",
                    "--report", "/app/reports/r1"]
    args = build_parser().parse_args(argv)
    assert (args.command, args.master, args.report) == ("validate", None, "/app/reports/r1")


def test_entrypoint_finds_the_container_address(entrypoint: Any) -> None:
    argv = entrypoint("migrate")
    host = argv[argv.index("--conf") + 1].removeprefix("spark.driver.host=")
    assert host
    assert not host.startswith("127.")
    assert ":" not in host


def test_entrypoint_passes_other_commands_through(entrypoint: Any) -> None:
    assert entrypoint("check", "--config", "x.yaml") == ["check", "--config", "x.yaml"]
    assert entrypoint("--version") == ["--version"]
    assert entrypoint() == []
    # an executable (the Spark master and workers) runs as given
    assert entrypoint(sys.executable, "-c", "print('[\"spark-class\"]')") == ["spark-class"]
