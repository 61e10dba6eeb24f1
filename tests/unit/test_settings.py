"""Settings: read once from the environment, validated, frozen."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path

import pytest

from recaudit.cli import main
from recaudit.settings import LogSettings, Settings, SettingsError, postgres_env


def test_defaults_from_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path("recaudit-data")
    assert settings.postgres_url is None
    assert settings.clock_skew == timedelta(seconds=5)
    assert settings.max_backdate == timedelta(milliseconds=315_576_000_000)  # ten years
    assert settings.group_commit_max == 256
    env = settings.event_store_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == str(Path("recaudit-data") / "events.sqlite")


def test_values_from_the_environment_and_overrides() -> None:
    settings = Settings.from_env(
        {
            "RECAUDIT_DATA_DIR": "here",
            "RECAUDIT_CLOCK_SKEW_MS": "250",
            "RECAUDIT_MAX_BACKDATE_MS": "86400000",
            "RECAUDIT_GROUP_COMMIT_MAX": "8",
            "RECAUDIT_POSTGRES_URL": "",
        },
        data_dir=Path("there"),
        postgres_url=None,  # None leaves the environment's value
    )
    assert settings.data_dir == Path("there")
    assert settings.clock_skew == timedelta(milliseconds=250)
    assert settings.max_backdate == timedelta(days=1)
    assert settings.group_commit_max == 8
    assert settings.postgres_url is None


def test_settings_are_frozen() -> None:
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.group_commit_max = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RECAUDIT_CLOCK_SKEW_MS": "-1"}, "RECAUDIT_CLOCK_SKEW_MS must not be negative"),
        ({"RECAUDIT_CLOCK_SKEW_MS": "5s"}, "RECAUDIT_CLOCK_SKEW_MS must be a whole number"),
        ({"RECAUDIT_CLOCK_SKEW_MS": "1.5"}, "RECAUDIT_CLOCK_SKEW_MS must be a whole number"),
        ({"RECAUDIT_MAX_BACKDATE_MS": "0"}, "RECAUDIT_MAX_BACKDATE_MS must be between 1 and"),
        ({"RECAUDIT_MAX_BACKDATE_MS": "-5"}, "RECAUDIT_MAX_BACKDATE_MS must be between 1 and"),
        ({"RECAUDIT_MAX_BACKDATE_MS": "1577880000001"}, "RECAUDIT_MAX_BACKDATE_MS must be betw"),
        ({"RECAUDIT_MAX_BACKDATE_MS": "10y"}, "RECAUDIT_MAX_BACKDATE_MS must be a whole number"),
        ({"RECAUDIT_GROUP_COMMIT_MAX": "0"}, "RECAUDIT_GROUP_COMMIT_MAX must be at least 1"),
        ({"RECAUDIT_GROUP_COMMIT_MAX": "-3"}, "RECAUDIT_GROUP_COMMIT_MAX must be at least 1"),
        ({"RECAUDIT_GROUP_COMMIT_MAX": "many"}, "RECAUDIT_GROUP_COMMIT_MAX must be a whole"),
        ({"RECAUDIT_POSTGRES_URL": "mysql://u:p@h/db"}, "must look like postgresql://"),
        ({"RECAUDIT_POSTGRES_URL": "postgresql:///db"}, "must look like postgresql://"),
        ({"RECAUDIT_POSTGRES_URL": "not a url"}, "must look like postgresql://"),
        ({"RECAUDIT_POSTGRES_URL": "postgresql://u:p@host:5432/"}, "must name a user"),
        ({"RECAUDIT_POSTGRES_URL": "postgresql://host:5432/db"}, "must name a user"),
    ],
)
def test_invalid_values_are_refused_with_a_clear_message(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)) as raised:
        Settings.from_env(env)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    "overrides",
    [{"clock_skew": timedelta(milliseconds=-1)}, {"group_commit_max": 0}],
)
def test_overrides_are_validated_too(overrides: dict[str, object]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({}, **overrides)


def test_a_bad_value_in_the_real_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECAUDIT_GROUP_COMMIT_MAX", "zero")
    with pytest.raises(SettingsError, match="RECAUDIT_GROUP_COMMIT_MAX"):
        Settings.from_env()


def test_postgres_url_becomes_the_event_store_configuration() -> None:
    settings = Settings.from_env(
        {"RECAUDIT_POSTGRES_URL": "postgresql://rec%40user:p%2Fw@db.example:6543/audit"}
    )
    env = settings.event_store_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.example",
        "6543",
        "audit",
    )
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("rec@user", "p/w")


def test_postgres_port_and_password_have_defaults() -> None:
    env = postgres_env("postgres://someone@localhost/db")
    assert (env["POSTGRES_PORT"], env["POSTGRES_PASSWORD"]) == ("5432", "")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RECAUDIT_RELAY_BATCH", "0"),
        ("RECAUDIT_CONSUMER_BATCH", "-1"),
        ("RECAUDIT_KAFKA_PARTITIONS", "0"),
        ("RECAUDIT_KAFKA_PARTITIONS", "six"),
        ("RECAUDIT_KAFKA_DLQ_TOPIC", "recaudit.events"),  # the same as the events topic
        ("RECAUDIT_CLICKHOUSE_DSN", "tcp://localhost:9000"),
        ("RECAUDIT_CLICKHOUSE_DATABASE", "1st-db"),
        ("RECAUDIT_AUDIO_LATENESS_MS", "-5"),
        ("RECAUDIT_AUDIO_SWEEP_MS", "0"),
        ("RECAUDIT_AUDIO_HELD_CALL_BYTES", "1"),
        ("RECAUDIT_PROJECTION_LINGER_MS", "-1"),
        ("RECAUDIT_PROJECTION_LINGER_MS", "60001"),
        ("RECAUDIT_FAULT_PAUSE_MS", "-1"),
        ("RECAUDIT_FAULT_PAUSE_MS", "10001"),
        ("RECAUDIT_PAUSE_POLL_MS", "0"),
        ("RECAUDIT_PAUSE_POLL_MS", "60001"),
        ("RECAUDIT_PAUSE_POLL_MS", "often"),
        ("RECAUDIT_CONSOLE_SESSION_S", "0"),
        ("RECAUDIT_CONSOLE_SESSION_S", "604801"),
        ("RECAUDIT_CONSOLE_SESSION_S", "forever"),
    ],
)
def test_every_setting_is_validated_and_named_in_the_error(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize("env", [{"RECAUDIT_PROJECTION_LINGER_MS": "-1"},
                                 {"RECAUDIT_FAULT_PAUSE_MS": "soon"}])
def test_serve_with_a_bad_setting_exits_2_and_creates_nothing(
        env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    data = tmp_path / "data"
    assert main(["serve", "--port", "1", "--data-dir", str(data)]) == 2
    assert next(iter(env)) in capsys.readouterr().err
    assert not data.exists()


def test_log_settings_default_to_info_text_and_read_their_variables() -> None:
    assert Settings.from_env({}).log == LogSettings("info", "text")
    read = LogSettings.from_env({"RECAUDIT_LOG_LEVEL": "DEBUG", "RECAUDIT_LOG_FORMAT": "json"})
    assert read == LogSettings("debug", "json")
    assert Settings.from_env({"RECAUDIT_LOG_LEVEL": "warning"}).log.level == "warning"


@pytest.mark.parametrize(("name", "value"), [("RECAUDIT_LOG_LEVEL", "loud"),
                                             ("RECAUDIT_LOG_FORMAT", "xml")])
def test_a_bad_log_setting_is_refused_by_every_command_with_exit_2(
        name: str, value: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SettingsError, match=f"{name} must be one of .* \\(got '{value}'\\)"):
        LogSettings.from_env({name: value})
    monkeypatch.setenv(name, value)
    # `token` needs no other setting, and still refuses: logging is configured first.
    assert main(["token", "--role", "admin", "--org", "*", "--name", "root"]) == 2
    captured = capsys.readouterr()
    assert f"recaudit: configuration error: {name} must be one of" in captured.err
    assert captured.out == "", "nothing runs with a bad log setting"


def test_console_sessions_last_eight_hours_unless_told() -> None:
    assert Settings.from_env({}).console_session_s == 8 * 3600
    assert Settings.from_env({"RECAUDIT_CONSOLE_SESSION_S": "60"}).console_session_s == 60


def test_the_pause_scheduler_polls_every_200_ms_unless_told() -> None:
    assert Settings.from_env({}).pause_poll_ms == 200
    assert Settings.from_env({"RECAUDIT_PAUSE_POLL_MS": "50"}).pause_poll_ms == 50
