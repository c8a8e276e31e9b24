"""Customer companies and customer users."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, ValidationError
from core.i18n import N_
from core.security import hash_password, verify_password
from desk.actor import Actor
from desk.customer.models import CustomerCompany, CustomerUser
from desk.permission.service import require_admin


def create_company(
    session: Session, *, actor: Actor, customer_id: str, name: str, city: str = ""
) -> CustomerCompany:
    """Create a customer company."""
    require_admin(session, actor)
    if not customer_id.strip() or not name.strip():
        raise ValidationError("invalid company", errors={"customer_id": ["id and name are required"]})
    if session.scalar(select(CustomerCompany.id).where(CustomerCompany.customer_id == customer_id)):
        raise Conflict(N_("a company with id %(id)r exists already"), id=customer_id)
    company = CustomerCompany(customer_id=customer_id.strip(), name=name.strip(), city=city)
    session.add(company)
    session.flush()
    return company


def create_customer_user(
    session: Session,
    *,
    actor: Actor,
    email: str,
    login: str | None = None,
    first_name: str = "",
    last_name: str = "",
    company: CustomerCompany | None = None,
    password: str | None = None,
    sees_company_tickets: bool = True,
) -> CustomerUser:
    """Create a customer user; the login defaults to the e-mail address."""
    require_admin(session, actor)
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationError("invalid customer", errors={"email": ["an e-mail address is required"]})
    login = (login or email).strip()
    if session.scalar(select(CustomerUser.id).where(CustomerUser.login == login)):
        raise Conflict(N_("a customer with login %(login)r exists already"), login=login)
    user = CustomerUser(
        login=login,
        email=email,
        first_name=first_name,
        last_name=last_name,
        company=company,
        password_hash=hash_password(password) if password else None,
        sees_company_tickets=sees_company_tickets,
    )
    session.add(user)
    session.flush()
    return user


def find_by_email(session: Session, *, email: str) -> CustomerUser | None:
    """The customer user with this address (case-insensitive), if any."""
    return session.scalar(select(CustomerUser).where(func.lower(CustomerUser.email) == email.strip().lower()))


def authenticate(session: Session, *, login: str, password: str) -> CustomerUser | None:
    """The valid customer user with these portal credentials, else None."""
    user = session.scalar(select(CustomerUser).where(CustomerUser.login == login.strip()))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.valid:
        return None
    return user
