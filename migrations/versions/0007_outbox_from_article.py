"""outbox from article

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:30:00.000000

Outgoing mail is composed from its article (text, HTML, attachments, inline images), so an
outbox row keeps only the envelope and the delivery state.  ``subject`` and ``body_text``
become nullable, and the copies of the article's content (subject, text, In-Reply-To,
References) are cleared on rows that name an article; a CHECK requires an article or a
text of its own.  ``article_id`` gets an index (the ticket view looks deliveries up by
article).  The downgrade copies the content back from the articles.  On SQLite the table
is rebuilt (batch mode).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "article_id IS NOT NULL OR (subject IS NOT NULL AND body_text IS NOT NULL)"
# "references" is an SQL keyword, hence the quotes.
CONTENT = ("subject", "body_text", "in_reply_to", '"references"')


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.alter_column("subject", existing_type=sa.Text(), nullable=True)
        batch_op.alter_column("body_text", existing_type=sa.Text(), nullable=True)
        batch_op.create_index(batch_op.f("ix_outbox_message_article_id"), ["article_id"], unique=False)
    cleared = ", ".join(f"{column} = NULL" for column in CONTENT)
    op.execute(f"UPDATE outbox_message SET {cleared} WHERE article_id IS NOT NULL")  # noqa: S608
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f("ck_outbox_message_outbox_content"), CHECK)


def downgrade() -> None:
    copied = ", ".join(
        f"{column} = (SELECT article.{column} FROM article WHERE article.id = outbox_message.article_id)"  # noqa: S608
        for column in CONTENT
    )
    op.execute(f"UPDATE outbox_message SET {copied} WHERE article_id IS NOT NULL")  # noqa: S608
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_outbox_message_outbox_content"), type_="check")
        batch_op.drop_index(batch_op.f("ix_outbox_message_article_id"))
        batch_op.alter_column("body_text", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("subject", existing_type=sa.Text(), nullable=False)
