"""One typed settings object, read from ``TICKETFLOW_*`` environment variables.

Every process (web, worker, CLI, tests) builds it once at start.  The defaults are the
embedded mode of ``make demo``: a SQLite file and outgoing mail written to a folder, all
under ``var/``.  Production sets the URLs of real servers instead; the code is the same.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from core.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """What a Ticketflow process needs to know about its environment."""

    env: str
    var_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    smtp_url: str | None
    system_id: str
    ticket_hook: str
    host: str
    port: int
    smtp_receiver_host: str
    smtp_receiver_port: int
    proxy_count: int = 0
    # A signed-in browser is signed out after this long without a request, and in any case
    # this long after signing in (OTRS uses 2 and 16 hours; 12 is a working day, the
    # lifetime of a form's CSRF token).
    session_idle_minutes: int = 120
    session_max_hours: int = 12
    # The largest request body accepted (413 beyond it): attachments may be 25 MB each.
    max_request_bytes: int = 30 * 1024 * 1024
    # The largest inbound mail (SMTP announces it as SIZE and refuses more with 552; the pipe
    # and IMAP refuse it too): attachments grow by a third in base64.
    max_mail_bytes: int = 50 * 1024 * 1024
    # The address a queue sends from when neither it nor a parent has one
    # (TICKETFLOW_DEFAULT_SENDER); unset, the desk's first system address.
    default_sender: str | None = None
    # Wall-clock time one process advance may run engine steps before it is stopped as a
    # loop (TICKETFLOW_ENGINE_BUDGET_MS), beside the step cap of engine.runtime.
    engine_budget_ms: int = 10_000

    @property
    def outbox_dir(self) -> Path:
        """Where outgoing mail is written when no SMTP relay is configured."""
        return self.var_dir / "outbox"

    @property
    def session_idle(self) -> timedelta:
        """How long a signed-in browser may stay without a request."""
        return timedelta(minutes=self.session_idle_minutes)

    @property
    def session_lifetime(self) -> timedelta:
        """How long a sign-in lasts at most, however busy the agent is."""
        return timedelta(hours=self.session_max_hours)

    @property
    def embedded_jobs(self) -> bool:
        """True when jobs run in-process (no Redis configured)."""
        return self.redis_url is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build the settings from ``environ`` (default: the process environment)."""
        env = os.environ if environ is None else environ

        def get(name: str, default: str | None = None) -> str | None:
            value = env.get(f"TICKETFLOW_{name}")
            return value if value not in (None, "") else default

        mode = get("ENV", "development") or "development"
        if mode not in {"development", "test", "production"}:
            raise ConfigurationError(f"TICKETFLOW_ENV must be development, test or production, not {mode!r}")
        var_dir = Path(get("VAR_DIR", str(PROJECT_ROOT / "var")) or "var").resolve()
        database_url = get("DATABASE_URL") or f"sqlite:///{var_dir / 'ticketflow.sqlite3'}"
        system_id = get("SYSTEM_ID", "10") or "10"
        if not (system_id.isdigit() and len(system_id) == 2):
            raise ConfigurationError("TICKETFLOW_SYSTEM_ID must be two digits, e.g. 10")
        secret_key = get("SECRET_KEY")
        if secret_key is None:
            if mode == "production":
                # A guessable default key would let anyone forge sessions.
                raise ConfigurationError("TICKETFLOW_SECRET_KEY must be set in production")
            secret_key = _local_secret(var_dir)
        return cls(
            env=mode,
            var_dir=var_dir,
            database_url=_normalise_db_url(database_url),
            redis_url=get("REDIS_URL"),
            secret_key=secret_key,
            smtp_url=get("SMTP_URL"),
            system_id=system_id,
            ticket_hook=get("TICKET_HOOK", "Ticket#") or "Ticket#",
            host=get("HOST", "127.0.0.1") or "127.0.0.1",
            port=_int(get("PORT", "5000"), "TICKETFLOW_PORT"),
            smtp_receiver_host=get("SMTP_RECEIVER_HOST", "127.0.0.1") or "127.0.0.1",
            smtp_receiver_port=_int(get("SMTP_RECEIVER_PORT", "2525"), "TICKETFLOW_SMTP_RECEIVER_PORT"),
            proxy_count=_int(get("PROXY_COUNT", "0"), "TICKETFLOW_PROXY_COUNT"),
            session_idle_minutes=_positive(
                get("SESSION_IDLE_MINUTES", "120"), "TICKETFLOW_SESSION_IDLE_MINUTES"
            ),
            session_max_hours=_positive(get("SESSION_MAX_HOURS", "12"), "TICKETFLOW_SESSION_MAX_HOURS"),
            max_request_bytes=_int(
                get("MAX_REQUEST_BYTES", str(30 * 1024 * 1024)), "TICKETFLOW_MAX_REQUEST_BYTES"
            ),
            max_mail_bytes=_positive(
                get("MAX_MAIL_BYTES", str(50 * 1024 * 1024)), "TICKETFLOW_MAX_MAIL_BYTES"
            ),
            default_sender=(get("DEFAULT_SENDER") or "").strip().lower() or None,
            engine_budget_ms=_positive(get("ENGINE_BUDGET_MS", "10000"), "TICKETFLOW_ENGINE_BUDGET_MS"),
        )


def _int(value: str | None, name: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {value!r}") from None


def _positive(value: str | None, name: str) -> int:
    number = _int(value, name)
    if number < 1:
        raise ConfigurationError(f"{name} must be at least 1, not {number}")
    return number


def _normalise_db_url(url: str) -> str:
    # Users paste libpq-style URLs; SQLAlchemy needs the driver named to pick psycopg 3.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _local_secret(var_dir: Path) -> str:
    """A per-installation random key for development, kept in ``var/`` (never in the repo)."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings.from_env()
