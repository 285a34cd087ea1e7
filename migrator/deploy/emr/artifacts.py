"""The local side of an EMR submission: fresh artifacts, a packed environment that can run there, the config.

Guarantees:

* the zip, entry script and requirements are rebuilt from the code running now (cheap and
  reproducible), so a run never ships stale code; a packed environment is slow to build and is
  reused, never rebuilt here;
* a packed environment whose interpreter link points anywhere but the nodes' Python is refused
  before anything is uploaded: venv-pack does not copy the interpreter, so such an archive fails
  on the nodes only after the cluster has started it;
* the config's contents are never logged or printed; only ``savepoints.path`` is looked at.
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.config.yamlio import YamlSyntaxError, parse_yaml
from migrator.deploy.package import ENV_NAME, Artifacts, build
from migrator.errors import ConfigError, UsageError

CONFIG_LOCAL = "local"  # a file here: uploaded with the run
CONFIG_S3 = "s3"  # already in S3: passed as it is
CONFIG_NODE = "node"  # file:///path already on the driver's node: passed as a path
_LINK_HOPS = 8
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ConfigRef:
    """Where the config comes from; ``value`` is a local path, an S3 URI or a path on the node."""

    kind: str
    value: str

    @property
    def name(self) -> str:
        """The file name, used for the uploaded copy and the step name."""
        return self.value.rstrip("/").rsplit("/", 1)[-1]


def config_ref(text: str) -> ConfigRef:
    """Classify ``--config``; a missing local file is a ``ConfigError`` (exit 2)."""
    from migrator.s3 import is_s3_uri

    if is_s3_uri(text):
        return ConfigRef(CONFIG_S3, text)
    if text.startswith("file://"):
        node_path = text[len("file://"):]
        if not node_path.startswith("/"):
            raise UsageError(f"--config {text}: a file:// config must name an absolute path on the driver's "
                             "node (file:///mnt/migrator/config.yaml)")
        return ConfigRef(CONFIG_NODE, node_path)
    path = Path(text)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "not found"
        raise ConfigError([("", f"config file {what}: {text}")], source=text)
    return ConfigRef(CONFIG_LOCAL, str(path))


def savepoints_path(config_text: str) -> str:
    """The config's ``savepoints.path`` (default ``savepoints``).

    Unreadable YAML is a ``ConfigError`` now rather than a failed step later.
    """
    try:
        tree = parse_yaml(config_text).tree
    except YamlSyntaxError as exc:
        raise ConfigError([("", str(exc))]) from None
    if not isinstance(tree, dict):
        raise ConfigError([("", "the config is not a mapping with source: and target: blocks")])
    savepoints = tree.get("savepoints")
    return str(savepoints.get("path", "savepoints")) if isinstance(savepoints, dict) else "savepoints"


def savepoint_warnings(path: str | None, *, deploy_mode: str, serverless: bool = False) -> list[str]:
    """Warnings about where a run's savepoints land; ``path`` if known. Savepoints on S3 are safe anywhere."""
    from migrator.s3 import is_s3_uri

    if path is not None and is_s3_uri(path):
        return []
    if serverless:
        return ["EMR Serverless drivers have no lasting disk: savepoints in a local folder disappear with the run, "
                "so a stopped run restarts from the beginning; set savepoints.path to an s3:// prefix "
                "(docs/emr.md, 'Savepoints')"]
    if deploy_mode == "cluster":
        return [f"in cluster mode the driver and its savepoints ({path or 'savepoints.path'}) live on whichever "
                "core node YARN picks, in a container folder removed at the end (a relative path) or on that node "
                "only (an absolute one); to resume runs, set savepoints.path to an s3:// prefix, or use "
                "--deploy-mode client with an absolute savepoints.path (docs/emr.md, 'Savepoints')"]
    if path is not None and not path.startswith(("/", "file:/", "${")):
        return [f"savepoints.path {path!r} is relative: on the primary node it resolves against the step's own "
                "working folder; an absolute path such as /mnt/migrator/savepoints is easier to find and resume "
                "from (docs/emr.md, 'Savepoints')"]
    return []


def prepare(dist: Path, *, use_env: bool, python: str) -> Artifacts:
    """Rebuild the zip, entry script and requirements in ``dist``; add the packed environment if asked."""
    built = build(dist, env=False)
    if not use_env:
        return built
    env = dist / ENV_NAME
    if not env.is_file():
        raise UsageError(f"--env: no packed environment at {env}",
                         hint=f"build it on Amazon Linux 2023 with `migrator package --python {python} --dist "
                         f"{dist}` (docs/emr.md shows a container for it), or drop --env and use the bootstrap")
    check_env_interpreter(env, python)
    return Artifacts(zip=built.zip, entry=built.entry, requirements=built.requirements, env=env)


def check_env_interpreter(archive: Path, python: str) -> None:
    """Refuse an archive whose ``bin/python`` does not lead to ``python`` (the nodes' interpreter)."""
    target = env_interpreter(archive)
    if target is None:
        raise UsageError(f"{archive}: no bin/python link found; is it a venv-pack archive?",
                         hint="rebuild it with `migrator package`")
    if target != python:
        raise UsageError(f"{archive}: its bin/python links to {target}, which the nodes do not have "
                         f"(they run {python}); venv-pack archives do not contain the interpreter",
                         hint=f"rebuild the environment on Amazon Linux 2023 with `migrator package --python "
                         f"{python}` (docs/emr.md), or pass --python {target} if the nodes really have it")


def env_interpreter(archive: Path) -> str | None:
    """The absolute path ``bin/python`` in a packed environment resolves to, following links inside it."""
    links: dict[str, str] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                name = posixpath.normpath(member.name)
                if member.issym() and name.startswith("bin/python"):
                    links[name] = member.linkname
    except (tarfile.TarError, OSError) as exc:
        raise UsageError(f"{archive}: cannot read the packed environment ({exc})",
                         hint="rebuild it with `migrator package`") from None
    current = "bin/python"
    for _ in range(_LINK_HOPS):
        if current not in links:
            return None
        target = links[current]
        if target.startswith("/"):
            return target
        current = posixpath.normpath(posixpath.join(posixpath.dirname(current), target))
    return None


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_local_config(ref: ConfigRef) -> str:
    """The text of a local config (for the savepoint check only; never logged)."""
    try:
        return Path(ref.value).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([("", f"the file is not UTF-8 text (byte {exc.start})")], source=ref.value) from None
    except OSError as exc:
        raise ConfigError([("", f"cannot read {ref.value}: {exc.strerror}")], source=ref.value) from None


def describe_sizes(paths: dict[str, Any]) -> str:
    """``name (N bytes), ...`` for the files about to be uploaded."""
    return ", ".join(f"{name} ({Path(p).stat().st_size:,} bytes)" for name, p in paths.items())
