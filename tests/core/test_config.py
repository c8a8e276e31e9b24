"""Settings come from TICKETFLOW_* variables with safe defaults for the embedded mode."""

from __future__ import annotations

import stat

import pytest

from core.config import Settings
from core.errors import ConfigurationError


def test_embedded_defaults(tmp_path):
    settings = Settings.from_env({"TICKETFLOW_VAR_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'ticketflow.sqlite3'}"
    assert settings.embedded_jobs
    assert settings.smtp_url is None
    assert settings.outbox_dir == tmp_path / "outbox"
    assert (settings.host, settings.port) == ("127.0.0.1", 5000)


def test_development_secret_is_random_kept_private_and_reused(tmp_path):
    first = Settings.from_env({"TICKETFLOW_VAR_DIR": str(tmp_path)})
    second = Settings.from_env({"TICKETFLOW_VAR_DIR": str(tmp_path)})
    other = Settings.from_env({"TICKETFLOW_VAR_DIR": str(tmp_path / "other")})
    assert first.secret_key == second.secret_key != other.secret_key
    assert len(first.secret_key) >= 48
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_production_refuses_to_start_without_a_secret(tmp_path):
    with pytest.raises(ConfigurationError, match="TICKETFLOW_SECRET_KEY"):
        Settings.from_env({"TICKETFLOW_ENV": "production", "TICKETFLOW_VAR_DIR": str(tmp_path)})
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TICKETFLOW_SYSTEM_ID", "1", "two digits"),
        ("TICKETFLOW_SYSTEM_ID", "ab", "two digits"),
        ("TICKETFLOW_PORT", "http", "whole number"),
        ("TICKETFLOW_ENV", "staging", "development, test or production"),
    ],
)
def test_bad_values_are_clear_errors(tmp_path, variable, value, message):
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({"TICKETFLOW_VAR_DIR": str(tmp_path), variable: value})


def test_libpq_style_postgres_url_uses_psycopg3(tmp_path):
    settings = Settings.from_env(
        {"TICKETFLOW_VAR_DIR": str(tmp_path), "TICKETFLOW_DATABASE_URL": "postgres://u@db/ticketflow"}
    )
    assert settings.database_url == "postgresql+psycopg://u@db/ticketflow"
