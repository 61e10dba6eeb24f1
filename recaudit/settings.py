"""One frozen settings object, read from the environment once at start-up.

| variable | meaning | default |
|---|---|---|
| RECAUDIT_DATA_DIR | where the embedded stores live | ./recaudit-data |
| RECAUDIT_POSTGRES_URL | postgresql://user:password@host:port/db for the event store | (SQLite) |
| RECAUDIT_CLOCK_SKEW_MS | how far ahead of the server clock a client `at` may be | 5000 |
| RECAUDIT_MAX_BACKDATE_MS | how far behind the server clock a client `at` may be | ten years |
| RECAUDIT_GROUP_COMMIT_MAX | most commands saved in one transaction | 256 |
| RECAUDIT_KAFKA_BOOTSTRAP | Kafka brokers, host:port[,host:port]; unset: local feed | (local) |
| RECAUDIT_KAFKA_TOPIC | the events topic | recaudit.events |
| RECAUDIT_KAFKA_DLQ_TOPIC | where undecodable messages go | recaudit.events.dlq |
| RECAUDIT_KAFKA_PARTITIONS | partitions of the topics the project creates | 6 |
| RECAUDIT_RELAY_BATCH | most events the relay publishes before moving its position | 2000 |
| RECAUDIT_CONSUMER_BATCH | most events a consumer applies in one batch | 1000 |
| RECAUDIT_CLICKHOUSE_DSN | http://user:pw@host:8123 (a server) or chdb:///abs/path | (embedded) |
| RECAUDIT_CLICKHOUSE_DATABASE | the ClickHouse database of the projections | recaudit |
| RECAUDIT_PROJECTION_LINGER_MS | how long the projection consumer gathers events per insert | 500 |
| RECAUDIT_AUDIO_LATENESS_MS | how long audio may wait for a late command (then: too_late) | 10000 |
| RECAUDIT_AUDIO_HELD_CALL_BYTES | most undecided audio held for one call (429) | 2097152 |
| RECAUDIT_AUDIO_HELD_TOTAL_BYTES | most undecided audio held overall (429) | 268435456 |
| RECAUDIT_AUDIO_SWEEP_MS | how often held audio is checked against the lateness bound | 1000 |
| RECAUDIT_PAUSE_POLL_MS | how often `serve` looks for capped pauses due to resume (ms) | 200 |
| RECAUDIT_TOKENS_FILE | access tokens (hashes, roles), one per line; see recaudit/access | (none) |
| RECAUDIT_TOKENS | the same entries inline, separated by newlines or `;` | (none) |
| RECAUDIT_MAX_BODY_BYTES | largest JSON request body accepted (413 above) | 16384 |
| RECAUDIT_RETENTION_SWEEP_MS | how often `serve` deletes audio past retention (ms) | 3600000 |
| RECAUDIT_ACCESS_LOG | on, or off (only to measure its cost: reads are then not recorded) | on |
| RECAUDIT_SIGNING_KEY_FILE | Ed25519 private key (PEM) signing evidence bundles | (data dir) |
| RECAUDIT_CONSOLE_SESSION_S | how long a console sign-in lasts, in seconds (1 to 604800) | 28800 |
| RECAUDIT_FAULT_PAUSE_MS | fault-injection tests only: consumers pause around applying | 0 |
| RECAUDIT_LOG_LEVEL | debug, info, warning, error or critical | info |
| RECAUDIT_LOG_FORMAT | text, or json (one JSON object per line) | text |

The embedded ClickHouse default is chdb://DATA_DIR/clickhouse (the engine in this process).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ONE_MS = timedelta(milliseconds=1)
TEN_YEARS = timedelta(days=3652.5)  # 315576000000 ms: ten years of 365.25 days
MOST_BACKDATE = timedelta(days=18262.5)  # fifty such years: the bound stays after 1970


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the process must not start."""


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class LogSettings:
    """How the process logs; read on its own too, since every command logs (even those
    that need no other setting)."""

    level: str = "info"
    format: str = "text"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LogSettings:
        env = os.environ if environ is None else environ
        settings = cls(level=(env.get("RECAUDIT_LOG_LEVEL") or "info").strip().lower(),
                       format=(env.get("RECAUDIT_LOG_FORMAT") or "text").strip().lower())
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.level not in LOG_LEVELS:
            raise SettingsError(f"RECAUDIT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} "
                                f"(got {self.level!r})")
        if self.format not in LOG_FORMATS:
            raise SettingsError(f"RECAUDIT_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)} "
                                f"(got {self.format!r})")

# The longest a console sign-in may last: a week.
MOST_SESSION_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("recaudit-data")
    postgres_url: str | None = None
    clock_skew: timedelta = timedelta(seconds=5)
    max_backdate: timedelta = TEN_YEARS
    group_commit_max: int = 256
    kafka_bootstrap: str | None = None
    kafka_topic: str = "recaudit.events"
    kafka_dlq_topic: str = "recaudit.events.dlq"
    kafka_partitions: int = 6
    relay_batch: int = 2000
    consumer_batch: int = 1000
    clickhouse_dsn: str | None = None
    clickhouse_database: str = "recaudit"
    projection_linger_ms: int = 500
    audio_lateness_ms: int = 10_000
    audio_held_call_bytes: int = 2 << 20
    audio_held_total_bytes: int = 256 << 20
    audio_sweep_ms: int = 1000
    pause_poll_ms: int = 200
    tokens_file: Path | None = None
    tokens: str | None = None
    max_body_bytes: int = 16 << 10
    retention_sweep_ms: int = 3_600_000
    access_log: bool = True
    signing_key_file: Path | None = None
    console_session_s: int = 8 * 3600
    fault_pause_ms: int = 0
    log: LogSettings = field(default_factory=LogSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        settings = cls(
            data_dir=Path(env.get("RECAUDIT_DATA_DIR", "recaudit-data")),
            postgres_url=env.get("RECAUDIT_POSTGRES_URL") or None,
            clock_skew=timedelta(milliseconds=_int(env, "RECAUDIT_CLOCK_SKEW_MS", 5000)),
            max_backdate=timedelta(milliseconds=_int(env, "RECAUDIT_MAX_BACKDATE_MS",
                                                     TEN_YEARS // ONE_MS)),
            group_commit_max=_int(env, "RECAUDIT_GROUP_COMMIT_MAX", 256),
            kafka_bootstrap=env.get("RECAUDIT_KAFKA_BOOTSTRAP") or None,
            kafka_topic=env.get("RECAUDIT_KAFKA_TOPIC") or "recaudit.events",
            kafka_dlq_topic=env.get("RECAUDIT_KAFKA_DLQ_TOPIC") or "recaudit.events.dlq",
            kafka_partitions=_int(env, "RECAUDIT_KAFKA_PARTITIONS", 6),
            relay_batch=_int(env, "RECAUDIT_RELAY_BATCH", 2000),
            consumer_batch=_int(env, "RECAUDIT_CONSUMER_BATCH", 1000),
            clickhouse_dsn=env.get("RECAUDIT_CLICKHOUSE_DSN") or None,
            clickhouse_database=env.get("RECAUDIT_CLICKHOUSE_DATABASE") or "recaudit",
            projection_linger_ms=_int(env, "RECAUDIT_PROJECTION_LINGER_MS", 500),
            audio_lateness_ms=_int(env, "RECAUDIT_AUDIO_LATENESS_MS", 10_000),
            audio_held_call_bytes=_int(env, "RECAUDIT_AUDIO_HELD_CALL_BYTES", 2 << 20),
            audio_held_total_bytes=_int(env, "RECAUDIT_AUDIO_HELD_TOTAL_BYTES", 256 << 20),
            audio_sweep_ms=_int(env, "RECAUDIT_AUDIO_SWEEP_MS", 1000),
            pause_poll_ms=_int(env, "RECAUDIT_PAUSE_POLL_MS", 200),
            tokens_file=_path(env, "RECAUDIT_TOKENS_FILE"),
            tokens=env.get("RECAUDIT_TOKENS") or None,
            max_body_bytes=_int(env, "RECAUDIT_MAX_BODY_BYTES", 16 << 10),
            retention_sweep_ms=_int(env, "RECAUDIT_RETENTION_SWEEP_MS", 3_600_000),
            access_log=_switch(env, "RECAUDIT_ACCESS_LOG", True),
            signing_key_file=_path(env, "RECAUDIT_SIGNING_KEY_FILE"),
            console_session_s=_int(env, "RECAUDIT_CONSOLE_SESSION_S", 8 * 3600),
            fault_pause_ms=_int(env, "RECAUDIT_FAULT_PAUSE_MS", 0),
            log=LogSettings.from_env(env),
        )
        settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.clock_skew < timedelta(0):
            raise SettingsError("RECAUDIT_CLOCK_SKEW_MS must not be negative")
        if not ONE_MS <= self.max_backdate <= MOST_BACKDATE:
            raise SettingsError(
                f"RECAUDIT_MAX_BACKDATE_MS must be between 1 and {MOST_BACKDATE // ONE_MS} "
                "(fifty years)")
        if self.group_commit_max < 1:
            raise SettingsError("RECAUDIT_GROUP_COMMIT_MAX must be at least 1")
        if self.postgres_url is not None:
            postgres_env(self.postgres_url)
        if self.relay_batch < 1 or self.consumer_batch < 1:
            raise SettingsError("RECAUDIT_RELAY_BATCH and RECAUDIT_CONSUMER_BATCH must be >= 1")
        if self.kafka_partitions < 1:
            raise SettingsError("RECAUDIT_KAFKA_PARTITIONS must be at least 1")
        if self.kafka_topic == self.kafka_dlq_topic:
            raise SettingsError("RECAUDIT_KAFKA_TOPIC and RECAUDIT_KAFKA_DLQ_TOPIC must differ")
        _check_clickhouse(self.clickhouse_dsn, self.clickhouse_database)
        if not 0 <= self.projection_linger_ms <= 60_000:
            raise SettingsError("RECAUDIT_PROJECTION_LINGER_MS must be between 0 and 60000")
        _check_audio(self)
        if not 1 <= self.pause_poll_ms <= 60_000:
            raise SettingsError("RECAUDIT_PAUSE_POLL_MS must be between 1 and 60000")
        if not 1_000 <= self.retention_sweep_ms <= 86_400_000:
            raise SettingsError("RECAUDIT_RETENTION_SWEEP_MS must be between 1000 (a second) "
                                "and 86400000 (a day)")
        if not 0 <= self.fault_pause_ms <= 10_000:
            raise SettingsError("RECAUDIT_FAULT_PAUSE_MS must be between 0 and 10000")
        if self.max_body_bytes < 1024:
            raise SettingsError("RECAUDIT_MAX_BODY_BYTES must be at least 1024")
        if not 1 <= self.console_session_s <= MOST_SESSION_S:
            raise SettingsError(f"RECAUDIT_CONSOLE_SESSION_S must be between 1 and "
                                f"{MOST_SESSION_S} (a week)")
        self.log.validate()

    def clickhouse_url(self) -> str:
        """The ClickHouse DSN: the configured one, else the embedded engine under data_dir."""
        if self.clickhouse_dsn:
            return self.clickhouse_dsn
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    def event_store_env(self) -> dict[str, str]:
        """The `eventsourcing` configuration for the chosen event store."""
        if self.postgres_url:
            return postgres_env(self.postgres_url)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.data_dir / "events.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "10",
        }


def _check_clickhouse(dsn: str | None, database: str) -> None:
    if dsn is not None and urlsplit(dsn).scheme not in ("chdb", "http", "https"):
        raise SettingsError(
            "RECAUDIT_CLICKHOUSE_DSN must start with http://, https:// or chdb:// "
            f"(got {dsn.split('://')[0]!r})"
        )
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", database):
        raise SettingsError(
            "RECAUDIT_CLICKHOUSE_DATABASE must be 1-64 letters, digits or _, "
            f"not starting with a digit (got {database!r})"
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


def _path(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    return Path(raw) if raw else None


def postgres_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise SettingsError(
            "RECAUDIT_POSTGRES_URL must look like postgresql://user:password@host:port/db"
        )
    dbname = parts.path.lstrip("/")
    if not dbname or not parts.username:
        raise SettingsError("RECAUDIT_POSTGRES_URL must name a user and a database")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        # Short: the library retries a lost connection ten times before giving up.
        "POSTGRES_CONNECT_TIMEOUT": "2",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "8",
    }


def _check_audio(settings: Settings) -> None:
    if settings.audio_lateness_ms < 0 or settings.audio_sweep_ms < 1:
        raise SettingsError(
            "RECAUDIT_AUDIO_LATENESS_MS must not be negative and RECAUDIT_AUDIO_SWEEP_MS "
            "must be at least 1"
        )
    if not 2 <= settings.audio_held_call_bytes <= settings.audio_held_total_bytes:
        raise SettingsError(
            "RECAUDIT_AUDIO_HELD_CALL_BYTES must be at least 2 and at most "
            "RECAUDIT_AUDIO_HELD_TOTAL_BYTES"
        )


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() not in ("on", "off"):
        raise SettingsError(f"{name} must be on or off (got {raw!r})")
    return raw.lower() == "on"
