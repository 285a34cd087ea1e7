"""The ansible/ deployment: syntax, lint, check-mode runs on this host, and the rendered job scripts.

Needs ansible-core and ansible-lint, on the PATH or in .venv-tools/bin (scripts/setup-tools). A
missing tool fails the test. Nothing is written outside pytest's temporary directories: Ansible's
home, temp and cache directories are moved there, and every path the playbook manages is
overridden to point there too (check mode writes nothing anyway).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.deploy.tools import find_tool

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "ansible"
ROLES = ANSIBLE_DIR / "roles"
TOOLS_VENV_BIN = REPO / ".venv-tools" / "bin"
SPARK_VERSION = "4.0.2"
SPARK_PACKAGE = f"spark-{SPARK_VERSION}-bin-hadoop3"
# Planted in the configuration and in migrator.env: must never appear in Ansible's output.
SOURCE_PASSWORD = "pw-source-7c1e"
TARGET_PASSWORD = "pw-target-d94b"
TIMEOUT_S = 300


@pytest.fixture(scope="module")
def ansible_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for ansible-* that keeps every write (homes, temps, caches) in a temp dir."""
    base = tmp_path_factory.mktemp("ansible-env")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    # ansible-lint caches in $VIRTUAL_ENV/.ansible when it is set, else in ANSIBLE_HOME
    env.pop("VIRTUAL_ENV", None)
    tools = Path(find_tool("ansible-playbook")).parent
    env.update(
        PATH=f"{tools}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(base / "home"),
        XDG_CACHE_HOME=str(base / "cache"),
        XDG_CONFIG_HOME=str(base / "config"),
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_HOME=str(base / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(base / "local-tmp"),
        ANSIBLE_REMOTE_TEMP=str(base / "remote-tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        NO_COLOR="1",
        PY_COLORS="0",
    )
    for key in ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "ANSIBLE_HOME"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


def _run(argv: list[str], env: dict[str, str], cwd: Path = ANSIBLE_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# --- syntax and lint -------------------------------------------------------------------------------


def test_syntax_check_passes(ansible_env: dict[str, str]) -> None:
    proc = _run(
        [find_tool("ansible-playbook"), "--syntax-check", "-i", "inventory/hosts.example.ini", "site.yml"],
        ansible_env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "playbook: site.yml" in proc.stdout


def test_ansible_lint_production_profile_is_clean(ansible_env: dict[str, str]) -> None:
    before = _tree(ANSIBLE_DIR)
    proc = _run([find_tool("ansible-lint"), "--nocolor"], ansible_env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "0 failure(s), 0 warning(s)" in output, output
    assert "Profile 'production' was required, and it passed" in output, output
    assert _tree(ANSIBLE_DIR) == before, "ansible-lint wrote into ansible/"


# --- check mode on this host -----------------------------------------------------------------------

TASK_LINE = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<name>.+?)\] \*+$")
STATUS_LINE = re.compile(r"^(?P<status>ok|changed|skipping|failed|fatal): \[")
RECAP_LINE = re.compile(r"^localhost\s+:\s+(?P<counts>.*)$", re.MULTILINE)


@dataclass(frozen=True)
class PlaybookRun:
    """One ansible-playbook run: its output, recap counters and the statuses of each task."""

    root: Path
    returncode: int
    output: str
    recap: dict[str, int]
    tasks: dict[str, list[str]]

    def status(self, task: str) -> set[str]:
        assert task in self.tasks, f"task {task!r} did not appear in the run:\n{self.output}"
        return set(self.tasks[task])


def _parse(root: Path, proc: subprocess.CompletedProcess[str]) -> PlaybookRun:
    output = proc.stdout + proc.stderr
    tasks: dict[str, list[str]] = {}
    current = None
    for line in proc.stdout.splitlines():
        if match := TASK_LINE.match(line):
            current = match["name"]
            tasks.setdefault(current, [])
        elif current and (match := STATUS_LINE.match(line)):
            tasks[current].append(match["status"])
    recaps = RECAP_LINE.findall(proc.stdout)
    recap = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", recaps[-1])) if recaps else {}
    return PlaybookRun(root, proc.returncode, output, recap, tasks)


def _spark_archive(dl: Path) -> None:
    """A stand-in Spark archive with its .sha512 in Apache's format, served as file:// URLs."""
    stage = dl / "stage" / SPARK_PACKAGE / "bin"
    stage.mkdir(parents=True)
    (stage / "spark-class").write_text("#!/bin/sh\n")
    archive = dl / f"{SPARK_PACKAGE}.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(stage.parent, arcname=SPARK_PACKAGE)
    digest = hashlib.sha512(archive.read_bytes()).hexdigest()
    (dl / f"{SPARK_PACKAGE}.tgz.sha512").write_text(f"{digest}  {SPARK_PACKAGE}.tgz\n")


def _dist(dist: Path) -> None:
    """What scripts/package ships: the package as an importable zip, and a thin entry script."""
    dist.mkdir(parents=True)
    with zipfile.ZipFile(dist / "migrator.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((REPO / "migrator").rglob("*.py")):
            zf.write(path, path.relative_to(REPO))
    (dist / "migrator_entry.py").write_text("import sys\n\nfrom migrator.cli import main\n\nsys.exit(main())\n")


JOB_CONFIG = {
    "source": {
        "type": "cassandra", "host": "10.0.1.10", "port": 9042, "keyspace": "shop", "table": "orders",
        "preserveTimestamps": True, "credentials": {"username": "migrator", "password": SOURCE_PASSWORD},
    },
    "target": {
        "type": "scylla", "host": "10.0.2.10", "port": 9042, "keyspace": "shop", "table": "orders",
        "credentials": {"username": "migrator", "password": "${TARGET_PASSWORD}"},
    },
    "savepoints": {"intervalSeconds": 60},
}


def _check_mode_case(base: Path, *, provisioned: bool) -> tuple[Path, Path, Path]:
    """A root dir, an inventory and extra vars that put every managed path under ``base``."""
    root = base / "root"
    # present on every real Debian/Ubuntu host
    for d in ("etc/systemd/system", "etc/profile.d", "var/tmp", "opt"):
        (root / d).mkdir(parents=True)
    if provisioned:  # left by an earlier run
        for d in ("etc/spark", "opt/migrator"):
            (root / d).mkdir(parents=True)
    dl = base / "download"
    _spark_archive(dl)
    _dist(base / "dist")
    inventory = base / "hosts.ini"
    inventory.write_text(
        # Python of the controller (interpreter discovery would follow pyenv shims under pytest);
        # apt re-runs itself under the system Python that has the apt bindings
        "[spark_master]\nlocalhost ansible_connection=local ansible_become=false"
        " ansible_python_interpreter='{{ ansible_playbook_python }}'\n"
        "[spark_worker]\nlocalhost\n[migrator_driver]\nlocalhost\n"
    )
    url = (dl / f"{SPARK_PACKAGE}.tgz").as_uri()
    extra = {
        "spark_version": SPARK_VERSION,
        "spark_download_url": url,
        "spark_checksum": f"sha512:{url}.sha512",
        "spark_download_dir": str(root / "var/tmp"),
        "spark_install_root": str(root / "opt"),
        "spark_conf_dir": str(root / "etc/spark"),
        "spark_data_dir": str(root / "var/lib/spark"),
        "spark_systemd_unit_dir": str(root / "etc/systemd/system"),
        "spark_profile_script": str(root / "etc/profile.d/spark.sh"),
        "spark_worker_cores": 8,
        "spark_worker_memory": "16g",
        "migrator_home": str(root / "opt/migrator"),
        "migrator_dist_dir": str(base / "dist"),
        "migrator_config": JOB_CONFIG,
        "migrator_environment": {"TARGET_PASSWORD": TARGET_PASSWORD},
    }
    extra_file = base / "extra-vars.json"
    extra_file.write_text(json.dumps(extra))
    return root, inventory, extra_file


def _check_run(env: dict[str, str], base: Path, *, provisioned: bool, start_at: str | None = None) -> PlaybookRun:
    root, inventory, extra_file = _check_mode_case(base, provisioned=provisioned)
    argv = [find_tool("ansible-playbook"), "-i", str(inventory), "--check", "--diff", "-e", f"@{extra_file}"]
    if start_at:
        shutil.rmtree(base / "dist")
        argv += ["--start-at-task", start_at]
    return _parse(root, _run([*argv, "site.yml"], env))


@pytest.fixture(scope="module")
def check_runs(
    ansible_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, PlaybookRun]]:
    """The three check-mode runs, concurrently (each only reads this host)."""
    cases = {
        "fresh": {"provisioned": False},
        "provisioned": {"provisioned": True},
        "no-dist": {"provisioned": True, "start_at": "Look for the packaged migrator on the controller"},
    }
    with ThreadPoolExecutor(len(cases)) as pool:
        futures = {
            name: pool.submit(_check_run, ansible_env, tmp_path_factory.mktemp(name), **kwargs)
            for name, kwargs in cases.items()
        }
        yield {name: future.result() for name, future in futures.items()}


def _task_output(run: PlaybookRun, task: str) -> str:
    """The lines a task printed, between its header and the next one."""
    block = run.output.split(f"TASK [{task}] ", 1)[1].split("\n", 1)[1]
    return re.split(r"^(?:TASK|RUNNING HANDLER|PLAY RECAP) ", block, maxsplit=1, flags=re.MULTILINE)[0].strip()


def _assert_clean(run: PlaybookRun) -> None:
    assert run.returncode == 0, run.output
    assert run.recap.get("failed") == 0 and run.recap.get("unreachable") == 0, run.output
    assert run.recap.get("ok", 0) > 0, run.output


def _roles_that_ran(run: PlaybookRun) -> set[str]:
    return {name.split(" : ")[0] for name, statuses in run.tasks.items()
            if " : " in name and {"ok", "changed"} & set(statuses)}


def test_check_mode_on_a_fresh_host(check_runs: dict[str, PlaybookRun]) -> None:
    run = check_runs["fresh"]
    _assert_clean(run)
    assert _roles_that_ran(run) == {"migrator", "spark"}
    assert run.status("spark : Install Java") == {"ok"}  # installed on this machine
    assert run.status("spark : Create the Spark user") == {"changed"}
    assert run.status("migrator : Install the runtime dependencies into the virtual environment") == {"changed"}
    assert run.status("migrator : Require the packaged migrator and a configuration") == {"ok"}
    # HEAD of the archive and parsing of the .sha512 file happen even in check mode
    assert run.status("spark : Download the Spark distribution") == {"changed"}
    # deliberately skipped: nothing downloaded, no directory created
    for task in ("spark : Unpack the Spark distribution", "spark : Point the Spark home symlink at this version",
                 "spark : Template spark-env.sh", "migrator : Template the job configuration",
                 "migrator : Template the submit scripts"):
        assert run.status(task) == {"skipping"}, task
    assert run.status("spark : Install the Spark master unit") == {"changed"}
    assert run.status("spark : Install the Spark worker unit") == {"changed"}
    # no systemd in this container: units rendered, never started
    assert run.status("spark : Enable and start the Spark worker") == {"skipping"}
    assert run.status("spark : Restart Spark worker") == {"skipping"}


def test_check_mode_on_a_provisioned_host_renders_everything(check_runs: dict[str, PlaybookRun]) -> None:
    run = check_runs["provisioned"]
    _assert_clean(run)
    assert _roles_that_ran(run) == {"migrator", "spark"}
    for task in ("spark : Template spark-env.sh", "spark : Template spark-defaults.conf",
                 "spark : Template the list of workers", "migrator : Template the job configuration",
                 "migrator : Template the job environment", "migrator : Template the submit scripts",
                 "migrator : Copy the packaged migrator"):
        assert run.status(task) == {"changed"}, task
    root = run.root
    # the two roles are wired together by site.yml
    assert f"+PYSPARK_PYTHON={root}/opt/migrator/venv/bin/python\n" in run.output
    assert "+SPARK_MASTER_HOST=localhost\n" in run.output
    assert "+SPARK_WORKER_CORES=8\n+SPARK_WORKER_MEMORY=16g\n" in run.output
    assert "+spark.master                 spark://localhost:7077\n" in run.output
    assert (f"+ExecStart={root}/opt/spark/bin/spark-class org.apache.spark.deploy.master.Master\n"
            in run.output)
    assert (f"+ExecStart={root}/opt/spark/bin/spark-class org.apache.spark.deploy.worker.Worker "
            "spark://localhost:7077\n" in run.output)
    assert "+Type=simple\n" in run.output


def test_check_mode_output_has_no_secrets(check_runs: dict[str, PlaybookRun]) -> None:
    for name, run in check_runs.items():
        assert SOURCE_PASSWORD not in run.output, name
        assert TARGET_PASSWORD not in run.output, name
    # no_log also hides the diff of the files holding secrets
    run = check_runs["provisioned"]
    for task in ("migrator : Template the job configuration", "migrator : Template the job environment"):
        assert run.status(task) == {"changed"}, task
        assert _task_output(run, task) == "changed: [localhost]", task


def test_missing_package_stops_the_playbook(check_runs: dict[str, PlaybookRun]) -> None:
    run = check_runs["no-dist"]
    assert run.returncode != 0
    assert run.recap.get("failed") == 1, run.output
    assert run.status("migrator : Require the packaged migrator and a configuration") == {"fatal"}
    assert "run scripts/package" in run.output
    assert "spark : Install Java" not in run.tasks


# --- the job templates, rendered for real ----------------------------------------------------------

RENDERED = ("config.yaml", "migrator.env", "submit-migrate.sh", "submit-validate.sh")


@pytest.fixture(scope="module")
def job_dir(ansible_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrator role's job templates rendered into a temp dir, with a recording spark-submit."""
    base = tmp_path_factory.mktemp("job")
    home, spark = base / "migrator", base / "spark"
    home.mkdir()
    (spark / "bin").mkdir(parents=True)
    recorder = spark / "bin" / "spark-submit"
    recorder.write_text(
        "#!/usr/bin/env bash\n"
        "printf '%s\\n' \"$@\" > \"$RECORD_DIR/argv\"\n"
        "{ echo \"cwd=$PWD\"; env | grep -E '^(PYSPARK_|SPARK_|TARGET_PASSWORD=)' | sort; } > \"$RECORD_DIR/env\"\n"
    )
    recorder.chmod(0o755)
    playbook = base / "render.yml"
    playbook.write_text(f"""\
- name: Render the job templates
  hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  vars_files:
    - {ROLES}/migrator/defaults/main.yml
    - {ROLES}/migrator/vars/main.yml
  tasks:
    - name: Render
      ansible.builtin.template:
        src: "{ROLES}/migrator/templates/{{{{ item }}}}.j2"
        dest: "{home}/{{{{ item }}}}"
        mode: "0700"
      loop: {json.dumps(list(RENDERED))}
""")
    extra = {
        "migrator_home": str(home),
        "migrator_spark_home": str(spark),
        "migrator_spark_conf_dir": str(base / "conf"),
        "migrator_spark_master_url": "spark://master.example:7077",
        "migrator_cores_max": 16,
        "migrator_executor_cores": 8,
        "migrator_executor_memory": "16g",
        "migrator_spark_conf": {"spark.driver.port": 7078, "spark.ui.port": 4050},
        "migrator_config": JOB_CONFIG,
        "migrator_environment": {"TARGET_PASSWORD": "it's a $ecret; `x`"},
    }
    (base / "extra.json").write_text(json.dumps(extra))
    proc = _run([find_tool("ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", f"@{base / 'extra.json'}",
                 str(playbook)], ansible_env, cwd=base)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return home


def _submit(home: Path, script: str, *args: str, env: dict[str, str] | None = None) -> tuple[list[str], str]:
    record = home.parent / "record"
    shutil.rmtree(record, ignore_errors=True)
    record.mkdir()
    proc = subprocess.run(
        ["bash", str(home / script), *args], cwd=home.parent, capture_output=True, text=True, timeout=60,
        env={"PATH": os.environ["PATH"], "RECORD_DIR": str(record), **(env or {})}, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return (record / "argv").read_text().splitlines(), (record / "env").read_text()


def _common_argv(home: Path, job: str, config: Path) -> list[str]:
    return [
        "--master", "spark://master.example:7077", "--deploy-mode", "client", "--name", f"migrator {job}",
        "--py-files", f"{home}/migrator.zip", "--driver-memory", "2g",
        "--executor-cores", "8", "--executor-memory", "16g", "--conf", "spark.cores.max=16",
        "--conf", "spark.driver.port=7078", "--conf", "spark.ui.port=4050",
        "--conf", f"spark.scylla.config={config}", f"{home}/migrator_entry.py", job,
    ]


def test_rendered_config_merges_the_savepoints_path(job_dir: Path) -> None:
    config = yaml.safe_load((job_dir / "config.yaml").read_text())
    assert config == {**JOB_CONFIG, "savepoints": {"path": f"{job_dir}/savepoints", "intervalSeconds": 60}}
    assert list(config) == ["source", "target", "savepoints"]
    assert (job_dir / "config.yaml").read_text().startswith("# Ansible managed\n")


def test_rendered_scripts_are_valid_bash(job_dir: Path) -> None:
    for script in ("submit-migrate.sh", "submit-validate.sh"):
        proc = subprocess.run(["bash", "-n", str(job_dir / script)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{script}: {proc.stderr}"


def test_submit_migrate_runs_spark_submit_in_client_mode(job_dir: Path) -> None:
    argv, env = _submit(job_dir, "submit-migrate.sh")
    assert argv == _common_argv(job_dir, "migrate", job_dir / "config.yaml")
    assert f"cwd={job_dir}\n" in env
    assert f"PYSPARK_PYTHON={job_dir}/venv/bin/python\n" in env
    assert f"PYSPARK_DRIVER_PYTHON={job_dir}/venv/bin/python\n" in env
    assert f"SPARK_LOCAL_DIRS={job_dir}/tmp\n" in env
    assert f"SPARK_CONF_DIR={job_dir.parent}/conf\n" in env
    # migrator.env was sourced, with the shell-special characters intact
    assert "TARGET_PASSWORD=it's a $ecret; `x`\n" in env


def test_submit_migrate_resumes_from_a_relative_savepoint(job_dir: Path) -> None:
    savepoint = job_dir.parent / "savepoints" / "savepoint_1795303515446_0000000003.yaml"
    savepoint.parent.mkdir(exist_ok=True)
    savepoint.write_text("source: {}\n")
    argv, _ = _submit(job_dir, "submit-migrate.sh", "savepoints/" + savepoint.name, "--log-level", "DEBUG")
    assert argv == [*_common_argv(job_dir, "migrate", savepoint), "--log-level", "DEBUG"]


def test_submit_validate_writes_the_report_where_asked(job_dir: Path) -> None:
    argv, _ = _submit(job_dir, "submit-validate.sh", env={"REPORT_DIR": "/reports/run1"})
    assert argv == [*_common_argv(job_dir, "validate", job_dir / "config.yaml"), "--report", "/reports/run1"]
    argv, _ = _submit(job_dir, "submit-validate.sh")
    assert argv[:-1] == [*_common_argv(job_dir, "validate", job_dir / "config.yaml"), "--report"]
    assert re.fullmatch(re.escape(f"{job_dir}/reports/") + r"\d{8}T\d{6}Z", argv[-1]), argv[-1]


def test_submit_refuses_an_unreadable_config(job_dir: Path) -> None:
    proc = subprocess.run(["bash", str(job_dir / "submit-migrate.sh"), "missing.yaml"], cwd=job_dir.parent,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert f"cannot read {job_dir.parent}/missing.yaml" in proc.stderr


# --- docs and dependencies stay in step ------------------------------------------------------------


def _defaults(role: str) -> dict[str, object]:
    return yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text())


def test_every_variable_is_documented() -> None:
    doc = (REPO / "docs" / "ansible.md").read_text()
    missing = [name for role in ("spark", "migrator") for name in _defaults(role) if f"`{name}`" not in doc]
    assert missing == [], f"add these to the variables tables of docs/ansible.md: {missing}"


def test_role_installs_the_runtime_dependencies_of_pyproject() -> None:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = [d.replace(" ", "") for d in deps if not d.startswith("pyspark")]
    packages = _defaults("migrator")["migrator_pip_packages"]
    assert isinstance(packages, list)
    installed = [str(p).replace(" ", "") for p in packages]
    assert [d for d in wanted if d not in installed] == []
    assert not any(p.startswith("pyspark") for p in installed)
