"""Customer user and company administration pages: thin, ``desk.customer.admin`` does the work."""

from __future__ import annotations

from collections.abc import Mapping

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from core.errors import ValidationError
from desk.audit import service as audit
from desk.customer import admin as customer_admin
from desk.customer.models import LANGUAGES, CustomerCompany, CustomerUser
from web.admin.forms import admin_actor, checked, optional_int, page_number
from web.admin.views import bp
from web.auth import login_required
from web.db import get_db

_VALID_FILTER = {"1": True, "0": False}


def _search_args(*names: str) -> dict[str, str]:
    return {name: request.args.get(name, "")[:200] for name in names if request.args.get(name, "")}


# --- customer users -------------------------------------------------------------------


@bp.get("/customers")
@login_required
def customers() -> ResponseReturnValue:
    """Customer users with search (name, e-mail, login, company), an active filter and pages."""
    session = get_db()
    actor = admin_actor()
    args = _search_args("q", "valid", "company")
    errors: dict[str, list[str]] = {}
    try:
        found = customer_admin.search_customers(
            session,
            actor=actor,
            words=args.get("q", ""),
            valid=_VALID_FILTER.get(args.get("valid", "")),
            company_id=optional_int(args.get("company")),
            page=page_number(),
        )
    except ValidationError as exc:
        errors = exc.errors
        found = customer_admin.Page(items=[], page=1, has_next=False)
    page = render_template(
        "admin/customers/list.html",
        found=found,
        args=args,
        errors=errors,
        companies=customer_admin.all_companies(session, actor=actor),
    )
    return page, 422 if errors else 200


def _customer_form_values(form: Mapping[str, str]) -> dict[str, object]:
    return {
        "login": form.get("login", ""),
        "email": form.get("email", ""),
        "first_name": form.get("first_name", ""),
        "last_name": form.get("last_name", ""),
        "language": form.get("language", "en"),
        "company_id": optional_int(form.get("company_id")),
        "sees_company_tickets": checked("sees_company_tickets", form),
    }


def _customer_page(
    template: str,
    *,
    form: Mapping[str, str],
    errors: dict[str, list[str]],
    customer: CustomerUser | None = None,
) -> ResponseReturnValue:
    session = get_db()
    actor = admin_actor()
    page = render_template(
        template,
        customer=customer,
        form=form,
        errors=errors,
        customer_languages=LANGUAGES,
        companies=customer_admin.all_companies(session, actor=actor),
        entries=audit.entries_for(session, object_type="customer_user", object_id=customer.id)
        if customer
        else [],
    )
    return page, 422 if errors else 200


@bp.route("/customers/new", methods=["GET", "POST"])
@login_required
def customer_new() -> ResponseReturnValue:
    """Create a customer user."""
    actor = admin_actor()
    if request.method == "GET":
        return _customer_page("admin/customers/new.html", form={"sees_company_tickets": "on"}, errors={})
    session = get_db()
    try:
        with session.begin_nested():
            created = customer_admin.create_customer(
                session,
                actor=actor,
                password=request.form.get("password", "") or None,
                **_customer_form_values(request.form),  # type: ignore[arg-type]
            )
    except ValidationError as exc:
        return _customer_page("admin/customers/new.html", form=request.form, errors=exc.errors)
    flash("admin_saved", "success")
    return redirect(url_for("admin.customer_edit", customer_id=created.id), code=303)


def customer_form(customer: CustomerUser) -> dict[str, str]:
    """The edit form's values from the stored customer user."""
    values = {
        name: str(getattr(customer, name))
        for name in ("login", "email", "first_name", "last_name", "language")
    }
    values["company_id"] = str(customer.company_id or "")
    if customer.sees_company_tickets:
        values["sees_company_tickets"] = "on"
    return values


@bp.route("/customers/<int:customer_id>", methods=["GET", "POST"])
@login_required
def customer_edit(customer_id: int) -> ResponseReturnValue:
    """Edit a customer user; deactivate, reactivate, set a password; the audit trail below."""
    session = get_db()
    actor = admin_actor()
    customer = customer_admin.get_customer(session, actor=actor, customer_id=customer_id)
    if request.method == "GET":
        return _customer_page(
            "admin/customers/edit.html", form=customer_form(customer), errors={}, customer=customer
        )
    try:
        with session.begin_nested():
            customer_admin.update_customer(
                session,
                actor=actor,
                customer=customer,
                **_customer_form_values(request.form),  # type: ignore[arg-type]
            )
    except ValidationError as exc:
        session.refresh(customer)
        return _customer_page(
            "admin/customers/edit.html", form=request.form, errors=exc.errors, customer=customer
        )
    flash("admin_saved", "success")
    return redirect(url_for("admin.customer_edit", customer_id=customer_id), code=303)


@bp.post("/customers/<int:customer_id>/valid")
@login_required
def customer_valid(customer_id: int) -> ResponseReturnValue:
    """Deactivate or reactivate a customer user (never deleted)."""
    session = get_db()
    actor = admin_actor()
    customer = customer_admin.get_customer(session, actor=actor, customer_id=customer_id)
    customer_admin.set_customer_valid(
        session, actor=actor, customer=customer, valid=request.form.get("valid") == "1"
    )
    flash("admin_saved", "success")
    return redirect(url_for("admin.customer_edit", customer_id=customer_id), code=303)


@bp.post("/customers/<int:customer_id>/password")
@login_required
def customer_password(customer_id: int) -> ResponseReturnValue:
    """Set the customer's portal password."""
    session = get_db()
    actor = admin_actor()
    customer = customer_admin.get_customer(session, actor=actor, customer_id=customer_id)
    try:
        with session.begin_nested():
            customer_admin.set_customer_password(
                session, actor=actor, customer=customer, password=request.form.get("password", "")
            )
    except ValidationError as exc:
        return _customer_page(
            "admin/customers/edit.html", form=customer_form(customer), errors=exc.errors, customer=customer
        )
    flash(_("The customer's password was set."), "success")
    return redirect(url_for("admin.customer_edit", customer_id=customer_id), code=303)


# --- companies ------------------------------------------------------------------------


@bp.get("/companies")
@login_required
def companies() -> ResponseReturnValue:
    """Customer companies with search and pages."""
    session = get_db()
    actor = admin_actor()
    args = _search_args("q", "valid")
    errors: dict[str, list[str]] = {}
    try:
        found = customer_admin.search_companies(
            session,
            actor=actor,
            words=args.get("q", ""),
            valid=_VALID_FILTER.get(args.get("valid", "")),
            page=page_number(),
        )
    except ValidationError as exc:
        errors = exc.errors
        found = customer_admin.Page(items=[], page=1, has_next=False)
    return render_template("admin/customers/companies.html", found=found, args=args, errors=errors), (
        422 if errors else 200
    )


def _company_form_values(form: Mapping[str, str]) -> dict[str, str]:
    return {name: form.get(name, "") for name in customer_admin.COMPANY_FIELDS}


def _company_page(
    template: str,
    *,
    form: Mapping[str, str],
    errors: dict[str, list[str]],
    company: CustomerCompany | None = None,
) -> ResponseReturnValue:
    session = get_db()
    actor = admin_actor()
    context: dict[str, object] = {"company": company, "form": form, "errors": errors}
    if company is not None:
        context.update(
            people=customer_admin.search_customers(
                session, actor=actor, company_id=company.id, page_size=200
            ),
            tickets=customer_admin.company_tickets(session, actor=actor, company=company, page=page_number()),
            entries=audit.entries_for(session, object_type="customer_company", object_id=company.id),
        )
    return render_template(template, **context), 422 if errors else 200


@bp.route("/companies/new", methods=["GET", "POST"])
@login_required
def company_new() -> ResponseReturnValue:
    """Create a customer company."""
    actor = admin_actor()
    if request.method == "GET":
        return _company_page("admin/customers/company_new.html", form={}, errors={})
    session = get_db()
    try:
        with session.begin_nested():
            created = customer_admin.create_company(
                session, actor=actor, **_company_form_values(request.form)
            )
    except ValidationError as exc:
        return _company_page("admin/customers/company_new.html", form=request.form, errors=exc.errors)
    flash("admin_saved", "success")
    return redirect(url_for("admin.company_edit", company_id=created.id), code=303)


@bp.route("/companies/<int:company_id>", methods=["GET", "POST"])
@login_required
def company_edit(company_id: int) -> ResponseReturnValue:
    """Edit a company; its customers and the tickets the administrator may read; the audit trail."""
    session = get_db()
    actor = admin_actor()
    company = customer_admin.get_company(session, actor=actor, company_id=company_id)
    if request.method == "GET":
        return _company_page(
            "admin/customers/company_edit.html", form=_company_form(company), errors={}, company=company
        )
    try:
        with session.begin_nested():
            customer_admin.update_company(
                session, actor=actor, company=company, **_company_form_values(request.form)
            )
    except ValidationError as exc:
        session.refresh(company)
        return _company_page(
            "admin/customers/company_edit.html", form=request.form, errors=exc.errors, company=company
        )
    flash("admin_saved", "success")
    return redirect(url_for("admin.company_edit", company_id=company_id), code=303)


def _company_form(company: CustomerCompany) -> dict[str, str]:
    return {name: str(getattr(company, name)) for name in customer_admin.COMPANY_FIELDS}


@bp.post("/companies/<int:company_id>/valid")
@login_required
def company_valid(company_id: int) -> ResponseReturnValue:
    """Deactivate or reactivate a company (never deleted)."""
    session = get_db()
    actor = admin_actor()
    company = customer_admin.get_company(session, actor=actor, company_id=company_id)
    customer_admin.set_company_valid(
        session, actor=actor, company=company, valid=request.form.get("valid") == "1"
    )
    flash("admin_saved", "success")
    return redirect(url_for("admin.company_edit", company_id=company_id), code=303)
