"""Customer administration: customer users and companies (list, create, edit, deactivate).

Every function checks :func:`desk.permission.service.require_admin` first, validates, changes,
records one audit entry (only the changed fields) and flushes.  The admin pages, the API
(``/api/v1/admin/customers``, ``/api/v1/admin/companies``) and the ``ticketflow customer``
commands call these same functions.  Nothing is deleted: customers and companies are
deactivated (``valid``), their tickets stay theirs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from core.errors import FieldMessage, NotFound, ValidationError
from core.i18n import N_
from core.security import hash_password
from core.text import text_problem
from desk.actor import Actor
from desk.audit import service as audit
from desk.customer.models import LANGUAGES, CustomerCompany, CustomerUser
from desk.permission.service import require_admin
from desk.ticket import service as ticket_service
from desk.ticket.models import Ticket

PAGE_SIZE = 50
MIN_PASSWORD = 8
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Column sizes of the models: longer input is a field error, not a failing flush.
LIMITS = {
    "login": 200,
    "email": 320,
    "first_name": 200,
    "last_name": 200,
    "customer_id": 150,
    "name": 200,
    "street": 200,
    "city": 200,
    "country": 200,
    "comment": 10_000,
}
COMPANY_FIELDS = ("customer_id", "name", "street", "city", "country", "comment")


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list."""

    items: Sequence[T]
    page: int
    has_next: bool


# --- customer users -------------------------------------------------------------------


def customer_snapshot(user: CustomerUser) -> dict[str, object]:
    """The audited fields of a customer user (the company by its customer id)."""
    return {
        "login": user.login,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "language": user.language,
        "company": user.company.customer_id if user.company else None,
        "sees_company_tickets": user.sees_company_tickets,
        "valid": user.valid,
    }


def _text_errors(values: Mapping[str, object], errors: dict[str, list[str]]) -> None:
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        problem = text_problem(value)
        if problem:
            errors.setdefault(name, []).append(problem)
        elif name in LIMITS and len(value) > LIMITS[name]:
            errors.setdefault(name, []).append(f"at most {LIMITS[name]} characters")


def valid_email(value: str) -> bool:
    """Whether ``value`` looks like a deliverable address (one ``@``, a dotted domain)."""
    return bool(EMAIL.match(value)) and len(value) <= LIMITS["email"]


def _customer_errors(
    session: Session, values: Mapping[str, object], *, existing: CustomerUser | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    _text_errors(values, errors)
    login, email = str(values["login"]), str(values["email"])
    if "email" not in errors and not valid_email(email):
        errors["email"] = ["not an e-mail address"]
    if "login" not in errors and (not login or any(c.isspace() for c in login)):
        errors["login"] = ["a login is one word"]
    if values["language"] not in LANGUAGES:
        errors["language"] = [FieldMessage(N_("one of %(choices)s"), choices=", ".join(LANGUAGES))]
    company_id = values["company_id"]
    if company_id is not None and (
        not isinstance(company_id, int)
        or not _storable_id(company_id)
        or session.get(CustomerCompany, company_id) is None
    ):
        errors["company_id"] = ["no such company"]
    own = existing.id if existing else None
    if "login" not in errors:
        clash = session.scalar(select(CustomerUser.id).where(CustomerUser.login == login))
        if clash is not None and clash != own:
            errors["login"] = [FieldMessage(N_("another customer has the login %(login)r"), login=login)]
    if "email" not in errors:
        clash = session.scalar(select(CustomerUser.id).where(func.lower(CustomerUser.email) == email))
        if clash is not None and clash != own:
            errors["email"] = [FieldMessage(N_("another customer has the address %(email)r"), email=email)]
    return errors


def _customer_values(
    *,
    login: str,
    email: str,
    first_name: str,
    last_name: str,
    language: str,
    company_id: int | None,
    sees_company_tickets: bool,
) -> dict[str, object]:
    email = email.strip().lower()
    return {
        "login": login.strip() or email,
        "email": email,
        "first_name": first_name.strip(),
        "last_name": last_name.strip(),
        "language": language.strip().lower() or "en",
        "company_id": company_id,
        "sees_company_tickets": sees_company_tickets,
    }


def create_customer(
    session: Session,
    *,
    actor: Actor,
    email: str,
    login: str = "",
    first_name: str = "",
    last_name: str = "",
    language: str = "en",
    company_id: int | None = None,
    sees_company_tickets: bool = True,
    password: str | None = None,
) -> CustomerUser:
    """Create a customer user (the login defaults to the address); every field checked at once."""
    require_admin(session, actor)
    values = _customer_values(
        login=login,
        email=email,
        first_name=first_name,
        last_name=last_name,
        language=language,
        company_id=company_id,
        sees_company_tickets=sees_company_tickets,
    )
    errors = _customer_errors(session, values, existing=None)
    if password and len(password) < MIN_PASSWORD:
        errors["password"] = [FieldMessage(N_("at least %(num)s characters"), num=MIN_PASSWORD)]
    if errors:
        raise ValidationError("invalid customer", errors=errors)
    user = CustomerUser(**values, password_hash=hash_password(password) if password else None, valid=True)
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="customer_user",
        object_id=user.id,
        object_label=user.login,
        action="create",
        new=customer_snapshot(user),
    )
    return user


def update_customer(
    session: Session,
    *,
    actor: Actor,
    customer: CustomerUser,
    email: str,
    login: str,
    first_name: str,
    last_name: str,
    language: str,
    company_id: int | None,
    sees_company_tickets: bool,
) -> bool:
    """Change a customer user's fields; True when something changed (then audited)."""
    require_admin(session, actor)
    values = _customer_values(
        login=login,
        email=email,
        first_name=first_name,
        last_name=last_name,
        language=language,
        company_id=company_id,
        sees_company_tickets=sees_company_tickets,
    )
    errors = _customer_errors(session, values, existing=customer)
    if errors:
        raise ValidationError("invalid customer", errors=errors)
    before = customer_snapshot(customer)
    for name, value in values.items():
        setattr(customer, name, value)
    session.flush()
    # The relationship follows the new company id only once it is reloaded.
    session.refresh(customer, ["company"])
    old, new = audit.changes(before, customer_snapshot(customer))
    if not new:
        return False
    audit.record(
        session,
        actor=actor,
        object_type="customer_user",
        object_id=customer.id,
        object_label=customer.login,
        action="update",
        old=old,
        new=new,
    )
    return True


def set_customer_valid(session: Session, *, actor: Actor, customer: CustomerUser, valid: bool) -> bool:
    """Deactivate or reactivate a customer user (never deleted); True when it changed."""
    require_admin(session, actor)
    if customer.valid == valid:
        return False
    customer.valid = valid
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="customer_user",
        object_id=customer.id,
        object_label=customer.login,
        action="reactivate" if valid else "deactivate",
        old={"valid": not valid},
        new={"valid": valid},
    )
    return True


def set_customer_password(session: Session, *, actor: Actor, customer: CustomerUser, password: str) -> None:
    """Set the customer's portal password; the audit entry says so without any value."""
    require_admin(session, actor)
    if len(password) < MIN_PASSWORD:
        raise ValidationError(
            N_("invalid password"),
            errors={"password": [FieldMessage(N_("at least %(num)s characters"), num=MIN_PASSWORD)]},
        )
    problem = text_problem(password)
    if problem:
        raise ValidationError("invalid password", errors={"password": [problem]})
    customer.password_hash = hash_password(password)
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="customer_user",
        object_id=customer.id,
        object_label=customer.login,
        action="set_password",
    )


def _storable_id(value: int) -> bool:
    return 0 < value < 2**31


def _like(words: str) -> str:
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _customer_match(words: str) -> ColumnElement[bool]:
    pattern = _like(words)
    company_match = (
        select(CustomerCompany.id)
        .where(
            or_(
                func.lower(CustomerCompany.name).like(pattern, escape="\\"),
                func.lower(CustomerCompany.customer_id).like(pattern, escape="\\"),
            )
        )
        .scalar_subquery()
    )
    full_name = func.lower(CustomerUser.first_name + " " + CustomerUser.last_name)
    return or_(
        func.lower(CustomerUser.login).like(pattern, escape="\\"),
        func.lower(CustomerUser.email).like(pattern, escape="\\"),
        full_name.like(pattern, escape="\\"),
        CustomerUser.company_id.in_(company_match),
    )


def search_customers(
    session: Session,
    *,
    actor: Actor,
    words: str = "",
    valid: bool | None = None,
    company_id: int | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> Page[CustomerUser]:
    """Customer users by login, newest page first: ``words`` in name, address, login or company."""
    require_admin(session, actor)
    query = select(CustomerUser)
    words = " ".join(words.split())
    if text_problem(words):
        raise ValidationError("invalid search", errors={"q": [str(text_problem(words))]})
    if words:
        query = query.where(_customer_match(words))
    if valid is not None:
        query = query.where(CustomerUser.valid.is_(valid))
    if company_id is not None:
        # An id no row can have (beyond 32 bits) matches nothing; the database would refuse it.
        query = query.where(CustomerUser.company_id == company_id if _storable_id(company_id) else false())
    page = max(page, 1)
    rows = session.scalars(
        query.order_by(CustomerUser.login).offset((page - 1) * page_size).limit(page_size + 1)
    ).all()
    return Page(items=rows[:page_size], page=page, has_next=len(rows) > page_size)


def get_customer(session: Session, *, actor: Actor, customer_id: int) -> CustomerUser:
    """The customer user with this id (administrators only)."""
    require_admin(session, actor)
    found = session.get(CustomerUser, customer_id) if _storable_id(customer_id) else None
    if found is None:
        raise NotFound("no such customer")
    return found


def find_customer(session: Session, *, actor: Actor, login_or_email: str) -> CustomerUser:
    """The customer user with this login, else with this address (for the CLI)."""
    require_admin(session, actor)
    value = login_or_email.strip()
    found = session.scalar(select(CustomerUser).where(CustomerUser.login == value))
    if found is None:
        found = session.scalar(select(CustomerUser).where(func.lower(CustomerUser.email) == value.lower()))
    if found is None:
        raise NotFound(N_("no customer user with login or e-mail %(value)r"), value=value)
    return found


# --- companies ------------------------------------------------------------------------


def company_snapshot(company: CustomerCompany) -> dict[str, object]:
    """The audited fields of a company."""
    return {name: getattr(company, name) for name in (*COMPANY_FIELDS, "valid")}


def _company_errors(
    session: Session, values: Mapping[str, str], *, existing: CustomerCompany | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    _text_errors(values, errors)
    if "customer_id" not in errors and not values["customer_id"]:
        errors["customer_id"] = ["a company id is required"]
    if "name" not in errors and not values["name"]:
        errors["name"] = ["a name is required"]
    if "customer_id" not in errors:
        clash = session.scalar(
            select(CustomerCompany.id).where(CustomerCompany.customer_id == values["customer_id"])
        )
        if clash is not None and clash != (existing.id if existing else None):
            errors["customer_id"] = [
                FieldMessage(N_("another company has the id %(id)r"), id=values["customer_id"])
            ]
    return errors


def _company_values(**values: str) -> dict[str, str]:
    return {name: values[name].strip() for name in COMPANY_FIELDS}


def create_company(
    session: Session,
    *,
    actor: Actor,
    customer_id: str,
    name: str,
    street: str = "",
    city: str = "",
    country: str = "",
    comment: str = "",
) -> CustomerCompany:
    """Create a customer company; every field checked at once."""
    require_admin(session, actor)
    values = _company_values(
        customer_id=customer_id, name=name, street=street, city=city, country=country, comment=comment
    )
    errors = _company_errors(session, values, existing=None)
    if errors:
        raise ValidationError("invalid company", errors=errors)
    company = CustomerCompany(**values, valid=True)
    session.add(company)
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="customer_company",
        object_id=company.id,
        object_label=company.customer_id,
        action="create",
        new=company_snapshot(company),
    )
    return company


def update_company(
    session: Session,
    *,
    actor: Actor,
    company: CustomerCompany,
    customer_id: str,
    name: str,
    street: str,
    city: str,
    country: str,
    comment: str,
) -> bool:
    """Change a company's fields; True when something changed (then audited)."""
    require_admin(session, actor)
    values = _company_values(
        customer_id=customer_id, name=name, street=street, city=city, country=country, comment=comment
    )
    errors = _company_errors(session, values, existing=company)
    if errors:
        raise ValidationError("invalid company", errors=errors)
    before = company_snapshot(company)
    for field, value in values.items():
        setattr(company, field, value)
    old, new = audit.changes(before, company_snapshot(company))
    session.flush()
    if not new:
        return False
    audit.record(
        session,
        actor=actor,
        object_type="customer_company",
        object_id=company.id,
        object_label=company.customer_id,
        action="update",
        old=old,
        new=new,
    )
    return True


def set_company_valid(session: Session, *, actor: Actor, company: CustomerCompany, valid: bool) -> bool:
    """Deactivate or reactivate a company (its customers stay as they are); True when it changed."""
    require_admin(session, actor)
    if company.valid == valid:
        return False
    company.valid = valid
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="customer_company",
        object_id=company.id,
        object_label=company.customer_id,
        action="reactivate" if valid else "deactivate",
        old={"valid": not valid},
        new={"valid": valid},
    )
    return True


def search_companies(
    session: Session,
    *,
    actor: Actor,
    words: str = "",
    valid: bool | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> Page[CustomerCompany]:
    """Companies by name: ``words`` in the name or the company id."""
    require_admin(session, actor)
    query = select(CustomerCompany)
    words = " ".join(words.split())
    if text_problem(words):
        raise ValidationError("invalid search", errors={"q": [str(text_problem(words))]})
    if words:
        pattern = _like(words)
        query = query.where(
            or_(
                func.lower(CustomerCompany.name).like(pattern, escape="\\"),
                func.lower(CustomerCompany.customer_id).like(pattern, escape="\\"),
            )
        )
    if valid is not None:
        query = query.where(CustomerCompany.valid.is_(valid))
    page = max(page, 1)
    rows = session.scalars(
        query.order_by(CustomerCompany.name, CustomerCompany.id)
        .offset((page - 1) * page_size)
        .limit(page_size + 1)
    ).all()
    return Page(items=rows[:page_size], page=page, has_next=len(rows) > page_size)


def all_companies(session: Session, *, actor: Actor) -> Sequence[CustomerCompany]:
    """Every company by name, for the pickers."""
    require_admin(session, actor)
    return session.scalars(select(CustomerCompany).order_by(CustomerCompany.name, CustomerCompany.id)).all()


def get_company(session: Session, *, actor: Actor, company_id: int) -> CustomerCompany:
    """The company with this id (administrators only)."""
    require_admin(session, actor)
    found = session.get(CustomerCompany, company_id) if _storable_id(company_id) else None
    if found is None:
        raise NotFound("no such company")
    return found


def company_tickets(
    session: Session, *, actor: Actor, company: CustomerCompany, page: int = 1, page_size: int = PAGE_SIZE
) -> Page[Ticket]:
    """The company's tickets the administrator may read (the ticket service's permission rule)."""
    require_admin(session, actor)
    page = max(page, 1)
    rows = ticket_service.list_tickets(
        session, actor=actor, company_id=company.id, limit=page_size + 1, offset=(page - 1) * page_size
    )
    return Page(items=rows[:page_size], page=page, has_next=len(rows) > page_size)
