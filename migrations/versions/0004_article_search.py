"""article full-text search index (PostgreSQL only)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00.000000

The ticket search (``desk.ticket.search``) matches words with
``to_tsvector('simple', subject || ' ' || body_text) @@ plainto_tsquery('simple', …)``.
This GIN expression index serves exactly that expression.  SQLite has no GIN indexes (and
FTS5 is not built), so there the search falls back to LIKE and nothing is created.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_article_search"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE INDEX {INDEX} ON article USING gin (to_tsvector('simple', (subject || ' ') || body_text))"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
