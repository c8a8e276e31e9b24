"""The sign-in form.  Labels and messages are written in the template."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField  # type: ignore[import-untyped]
from wtforms.validators import (  # type: ignore[import-untyped]
    DataRequired,
    Length,
    Regexp,
)

# Control characters never belong in a login; NUL would even make PostgreSQL refuse the
# query, which must be a form error rather than a server error.
_NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


class LoginForm(FlaskForm):  # type: ignore[misc]
    """Login name and password; the CSRF token is added by Flask-WTF."""

    login = StringField(validators=[DataRequired(), Length(max=200), Regexp(_NO_CONTROL_CHARACTERS)])
    # The cap keeps one request from making argon2 hash megabytes.
    password = PasswordField(validators=[DataRequired(), Length(max=1024)])
