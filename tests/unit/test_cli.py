"""The command line without services: usage errors, config errors, --conf parsing, secret scrubbing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from migrator.cli import _Scrubber, _spark_conf, main, setup_logging
from migrator.errors import EXIT_CONFIG, UsageError

LOGGERS = ("", "migrator", "cassandra", "py4j")


@pytest.fixture(autouse=True)
def restore_logging():
    """``main`` reconfigures the root logger; put pytest's handlers back afterwards."""
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level) for name in LOGGERS}
    yield
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)


@pytest.fixture(autouse=True)
def not_under_spark_submit(monkeypatch):
    monkeypatch.delenv("SPARK_SUBMIT_OPTS", raising=False)
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)


def test_spark_conf_parses_pairs():
    assert _spark_conf([]) == {}
    assert _spark_conf(["spark.executor.memory=4g", " spark.a =x=y", "spark.empty="]) == {
        "spark.executor.memory": "4g",
        "spark.a": "x=y",
        "spark.empty": "",
    }


@pytest.mark.parametrize("pair", ["spark.executor.memory", "=4g", ""])
def test_spark_conf_refuses_a_pair_without_key_or_equals(pair):
    with pytest.raises(UsageError) as info:
        _spark_conf([pair])
    assert info.value.message == f"--conf expects KEY=VALUE, got {pair!r}"
    assert info.value.exit_code == EXIT_CONFIG


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: migrator [-h] [--version] COMMAND ...")
    assert "check" in captured.err and "migrate" in captured.err


def test_migrate_without_a_config(capsys):
    assert main(["migrate"]) == EXIT_CONFIG
    assert capsys.readouterr().err == (
        "migrator: error: no config given\n  hint: pass --config FILE (or --conf spark.scylla.config=FILE)\n"
    )


def test_bad_conf_pair_is_a_usage_error(capsys):
    assert main(["migrate", "--conf", "oops"]) == EXIT_CONFIG
    assert capsys.readouterr().err == "migrator: error: --conf expects KEY=VALUE, got 'oops'\n"


def test_check_with_a_yaml_error(tmp_path: Path, capsys):
    config = tmp_path / "broken.yaml"
    config.write_text("source:\n  type: cassandra\n  host: [unclosed\n", encoding="utf-8")
    assert main(["check", "--config", str(config)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err.startswith(
        f"migrator: error: invalid configuration in {config} (1 problem):\n  - malformed YAML at line 4"
    )
    assert "Traceback" not in err


def test_check_with_a_missing_file(tmp_path: Path, capsys):
    missing = tmp_path / "nope.yaml"
    assert main(["check", "-c", str(missing)]) == EXIT_CONFIG
    assert capsys.readouterr().err == (
        f"migrator: error: invalid configuration in {missing} (1 problem):\n"
        f"  - config file not found: {missing}\n"
    )


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("migrator", logging.INFO, __file__, 1, msg, args or None, None)


def test_scrubber_replaces_secrets_in_the_formatted_message():
    scrubber = _Scrubber({"hunter22", "hunter22-long", "ab"})
    rec = record("password %s for %s, again %r", "hunter22-long", "ab", "hunter22")
    assert scrubber.filter(rec) is True
    assert rec.getMessage() == "password <redacted> for ab, again '<redacted>'"
    assert rec.args is None


def test_scrubber_leaves_clean_records_untouched():
    scrubber = _Scrubber({"hunter22"})
    rec = record("connected to %s", "10.0.0.1")
    args = rec.args
    assert scrubber.filter(rec) is True
    assert (rec.msg, rec.args) == ("connected to %s", args)


def test_scrubber_in_the_installed_handler(capsys):
    setup_logging("INFO", {"s3cr3t-pw"})
    logging.getLogger("migrator.test").info("config: password=%s", "s3cr3t-pw")
    err = capsys.readouterr().err
    assert err.endswith(" INFO migrator.test: config: password=<redacted>\n")
    assert "s3cr3t-pw" not in err
