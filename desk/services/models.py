"""The Service model (OTRS's ``service`` table)."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class Service(Base):
    """A service the help desk supports (``E-mail``, ``VPN``); may hang below a parent.

    ``service_level_id`` is the level the service's tickets follow unless the ticket names
    its own (see :func:`desk.sla.service.applied` for the order).
    """

    __tablename__ = "service"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    service_level_id: Mapped[int | None] = mapped_column(ForeignKey("service_level.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    valid: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self) -> str:
        return f"<Service {self.name}>"
