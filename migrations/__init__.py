"""Alembic migrations of the Ticketflow schema (run with ``ticketflow db upgrade``)."""
