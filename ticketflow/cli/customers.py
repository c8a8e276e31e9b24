"""``ticketflow customer …``: customer users and companies, and the CSV import.

The commands act as the system and call the same functions as the admin pages and the API
(:mod:`desk.customer.admin`, :mod:`desk.customer.csv_import`), so the same rules and the same
audit entries apply.  ``customer token`` lives in :mod:`ticketflow.cli.users` with the group.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ticketflow.cli.errors import friendly_errors
from ticketflow.cli.users import customer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["customer"]


@customer.command("create")
@click.argument("email")
@click.option("--login", default="", help="Defaults to the e-mail address.")
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@click.option("--language", default="en", help="en, de, ru or hu.")
@click.option("--company", "company_key", default="", help="The company's id, e.g. ACME.")
@click.option("--no-company-tickets", is_flag=True, help="Sees only their own tickets, not the company's.")
@friendly_errors
def customer_create(
    email: str,
    login: str,
    first_name: str,
    last_name: str,
    language: str,
    company_key: str,
    no_company_tickets: bool,
) -> None:
    """Create a customer user with EMAIL."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.customer import admin as customer_admin

    with session_scope() as session:
        company_id = _company_id(session, company_key) if company_key else None
        created = customer_admin.create_customer(
            session,
            actor=SYSTEM,
            email=email,
            login=login,
            first_name=first_name,
            last_name=last_name,
            language=language,
            company_id=company_id,
            sees_company_tickets=not no_company_tickets,
        )
        login = created.login
    click.echo(f"customer {login} created")


def _company_id(session: Session, key: str) -> int:
    from sqlalchemy import select

    from core.errors import NotFound
    from desk.customer.models import CustomerCompany

    found = session.scalar(select(CustomerCompany.id).where(CustomerCompany.customer_id == key))
    if found is None:
        raise NotFound(f"no company with id {key!r}")
    return found


@customer.command("list")
@click.argument("words", default="")
@click.option("--page", type=click.IntRange(min=1), default=1)
@friendly_errors
def customer_list(words: str, page: int) -> None:
    """List customer users (login, e-mail, name, company, status) matching WORDS."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.customer import admin as customer_admin

    with session_scope() as session:
        found = customer_admin.search_customers(session, actor=SYSTEM, words=words, page=page)
        for user in found.items:
            company = user.company.customer_id if user.company else "-"
            status = "active" if user.valid else "inactive"
            click.echo("\t".join((user.login, user.email, user.full_name, company, status)))
        if found.has_next:
            click.echo(f"more: --page {page + 1}")


def _set_valid(login: str, valid: bool) -> str:
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.customer import admin as customer_admin

    with session_scope() as session:
        user = customer_admin.find_customer(session, actor=SYSTEM, login_or_email=login)
        changed = customer_admin.set_customer_valid(session, actor=SYSTEM, customer=user, valid=valid)
        state = "active" if valid else "inactive"
        return f"customer {user.login} is {state}" + ("" if changed else " (unchanged)")


@customer.command("deactivate")
@click.argument("login")
@friendly_errors
def customer_deactivate(login: str) -> None:
    """Deactivate the customer user LOGIN (or e-mail); nothing is deleted."""
    click.echo(_set_valid(login, False))


@customer.command("reactivate")
@click.argument("login")
@friendly_errors
def customer_reactivate(login: str) -> None:
    """Reactivate the customer user LOGIN (or e-mail)."""
    click.echo(_set_valid(login, True))


@customer.command("password")
@click.argument("login")
@click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Asked for when not given."
)
@friendly_errors
def customer_password(login: str, password: str) -> None:
    """Set the portal password of the customer user LOGIN (or e-mail)."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.customer import admin as customer_admin

    with session_scope() as session:
        user = customer_admin.find_customer(session, actor=SYSTEM, login_or_email=login)
        customer_admin.set_customer_password(session, actor=SYSTEM, customer=user, password=password)
        login = user.login
    click.echo(f"password of customer {login} set")


@customer.command("company-create")
@click.argument("customer_id")
@click.argument("name")
@click.option("--city", default="")
@friendly_errors
def company_create(customer_id: str, name: str, city: str) -> None:
    """Create the customer company CUSTOMER_ID (e.g. ACME) called NAME."""
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.customer import admin as customer_admin

    with session_scope() as session:
        customer_admin.create_company(session, actor=SYSTEM, customer_id=customer_id, name=name, city=city)
    click.echo(f"company {customer_id} created")


@customer.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--encoding",
    type=click.Choice(["auto", "utf-8", "windows-1252", "windows-1251", "windows-1250"]),
    default="auto",
    show_default=True,
)
@click.option(
    "--delimiter", type=click.Choice(["auto", "comma", "semicolon", "tab"]), default="auto", show_default=True
)
@click.option(
    "--create-companies", is_flag=True, help="Create the companies the file names that do not exist."
)
@click.option("--dry-run", is_flag=True, help="Only check the file: report what would be refused.")
@friendly_errors
def customer_import(file: Path, encoding: str, delimiter: str, create_companies: bool, dry_run: bool) -> None:
    """Import customer users from a CSV FILE; refused rows are listed with their line and reason.

    Valid rows are imported, invalid ones reported, in one transaction.  The first line names
    the columns (login, email, first name, last name, company id or company, language).
    """
    from core.db import session_scope
    from desk.actor import SYSTEM
    from desk.customer import csv_import

    data = file.read_bytes()[: csv_import.MAX_BYTES + 1]
    with session_scope() as session:
        stored = csv_import.upload(
            session, actor=SYSTEM, data=data, file_name=file.name, encoding=encoding, delimiter=delimiter
        )
        if dry_run:
            preview = csv_import.preview(
                session, actor=SYSTEM, stored=stored, create_companies=create_companies
            )
            errors = preview.plan.errors
            summary = (
                f"dry run: {len(preview.plan.customers)} would be imported, {len(errors)} refused, "
                f"{len(preview.plan.new_companies)} companies would be created"
            )
            session.rollback()
        else:
            done = csv_import.run(session, actor=SYSTEM, stored=stored, create_companies=create_companies)
            errors = csv_import.report_of(done)
            summary = (
                f"{done.imported_count} imported, {done.rejected_count} refused, "
                f"{done.companies_created} companies created"
            )
    for error in errors:
        click.echo(f"line {error.line}: {error.message}")
    click.echo(summary)
