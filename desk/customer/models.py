"""CustomerCompany, CustomerUser and CustomerImport (an uploaded CSV file of customer users)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, utcnow

# The languages customers are written to in (the texts' per-language variants).
LANGUAGES = ("en", "de", "ru", "hu")


class CustomerCompany(Base):
    """An organisation whose people are customers."""

    __tablename__ = "customer_company"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The short customer id of OTRS, e.g. ``ACME``.
    customer_id: Mapped[str] = mapped_column(String(150), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(200), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    # The company's contracted service level: its tickets follow it before the queue's.
    service_level_id: Mapped[int | None] = mapped_column(ForeignKey("service_level.id"))
    valid: Mapped[bool] = mapped_column(Boolean, default=True)


class CustomerUser(Base):
    """A person with problems; may log in to the portal when a password is set."""

    __tablename__ = "customer_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    company_id: Mapped[int | None] = mapped_column(ForeignKey("customer_company.id"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # As in OTRS, customer users see their company's tickets too, unless this is off.
    sees_company_tickets: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(10), default="en")
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    company: Mapped[CustomerCompany | None] = relationship(lazy="joined")

    @property
    def full_name(self) -> str:
        """First and last name, or the e-mail address."""
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email

    def __repr__(self) -> str:
        return f"<CustomerUser {self.login}>"


class CustomerImport(Base):
    """A CSV file of customer users, kept on the server between its preview and its import.

    The browser is given only the id: what is imported is what was previewed, whatever the
    client sends later.  ``status`` is ``uploaded`` until the import ran, then ``imported``
    with the counts and the per-row report (JSON); the file's bytes are dropped then, since
    the customers now live in their own rows.
    """

    __tablename__ = "customer_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(400))
    file_name: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    # What the administrator chose: "auto" or a codec / delimiter.
    encoding: Mapped[str] = mapped_column(String(20), default="auto")
    delimiter: Mapped[str] = mapped_column(String(10), default="auto")
    status: Mapped[str] = mapped_column(String(20), default="uploaded")
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imported_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    companies_created: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[str] = mapped_column(Text, default="[]")
