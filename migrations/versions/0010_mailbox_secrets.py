"""mailbox secrets

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 12:30:00.000000

Mailbox secrets (issue 10): encrypted passwords, OAuth2 settings, oversize folder.

The plaintext ``mail_account.password`` becomes ``password_encrypted``: every stored
password is encrypted here with the key derived from ``TICKETFLOW_SECRET_KEY`` (the v1
scheme of ``mail/secrets.py``, frozen below so that later changes there do not change what
this migration wrote).  A downgrade decrypts them back.
"""

import base64
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import core.db
from core.config import get_settings

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = "fernet1:"


def _fernet() -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ticketflow mailbox secrets v1")
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(get_settings().secret_key.encode("utf-8"))))


def upgrade() -> None:
    with op.batch_alter_table("mail_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auth_method", sa.String(length=20), nullable=False, server_default="password")
        )
        batch_op.add_column(sa.Column("password_encrypted", sa.Text(), nullable=False, server_default=""))
        for name, length in (("oauth2_token_url", 1000), ("oauth2_client_id", 500)):
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=False, server_default=""))
        for name in ("oauth2_client_secret_encrypted", "oauth2_refresh_token_encrypted"):
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("oauth2_scope", sa.String(length=1000), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column(
                "oversize_folder", sa.String(length=255), nullable=False, server_default="Ticketflow/Oversize"
            )
        )

    bind = op.get_bind()
    accounts = sa.table(
        "mail_account",
        sa.column("id", sa.Integer),
        sa.column("password", sa.String),
        sa.column("password_encrypted", sa.Text),
    )
    rows = bind.execute(sa.select(accounts.c.id, accounts.c.password)).all()
    if rows:
        fernet = _fernet()
        for account_id, password in rows:
            token = PREFIX + fernet.encrypt(password.encode("utf-8")).decode("ascii") if password else ""
            bind.execute(
                accounts.update().where(accounts.c.id == account_id).values(password_encrypted=token)
            )

    with op.batch_alter_table("mail_account", schema=None) as batch_op:
        batch_op.drop_column("password")

    op.create_table(
        "mailbox_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sender", sa.String(length=998), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("folder", sa.String(length=255), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["mail_account.id"], name=op.f("fk_mailbox_event_account_id_mail_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailbox_event")),
    )
    with op.batch_alter_table("mailbox_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mailbox_event_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mailbox_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailbox_event_account_id"))
    op.drop_table("mailbox_event")

    with op.batch_alter_table("mail_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password", sa.String(length=500), nullable=False, server_default=""))

    bind = op.get_bind()
    accounts = sa.table(
        "mail_account",
        sa.column("id", sa.Integer),
        sa.column("password", sa.String),
        sa.column("password_encrypted", sa.Text),
    )
    rows = bind.execute(sa.select(accounts.c.id, accounts.c.password_encrypted)).all()
    if rows:
        fernet = _fernet()
        for account_id, stored in rows:
            password = stored
            if stored.startswith(PREFIX):
                try:
                    password = fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
                except InvalidToken:
                    password = ""  # another key: the administrator enters it again
            bind.execute(accounts.update().where(accounts.c.id == account_id).values(password=password))

    with op.batch_alter_table("mail_account", schema=None) as batch_op:
        for name in (
            "oversize_folder",
            "oauth2_scope",
            "oauth2_refresh_token_encrypted",
            "oauth2_client_secret_encrypted",
            "oauth2_client_id",
            "oauth2_token_url",
            "password_encrypted",
            "auth_method",
        ):
            batch_op.drop_column(name)
