"""Customer administration over the API: ``/api/v1/admin/customers`` and ``/admin/companies``.

The same service functions as the admin pages (:mod:`desk.customer.admin`); the token's
agent must administer the system (checked before the body is read, see
:func:`web.api.common.require_admin_token`, and again by every service).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from desk.customer import admin as customer_admin
from desk.customer.models import LANGUAGES, CustomerCompany, CustomerUser
from web.api.common import current_agent, db
from web.api.schemas import Id, InputSchema, QueryId, Text
from web.api.smorest import ApiBlueprint

bp = ApiBlueprint(
    "admin_customers", url_prefix="/api/v1/admin", description="Customer users and companies (administrators)"
)


class AdminCustomerSchema(Schema):
    """A customer user as administrators see it (never the password)."""

    id = fields.Integer(required=True)
    login = fields.String(required=True)
    email = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    language = fields.String(required=True)
    company_id = fields.Integer(allow_none=True, required=True)
    sees_company_tickets = fields.Boolean(required=True)
    valid = fields.Boolean(required=True)
    has_password = fields.Function(
        lambda c: c.password_hash is not None, required=True, metadata={"type": "boolean"}
    )


class CustomerListQuerySchema(InputSchema):
    """Search and page the customer users."""

    q = Text(load_default="", max_length=200, metadata={"description": "name, e-mail, login or company"})
    valid = fields.Boolean(load_default=None, allow_none=True)
    company_id = QueryId(load_default=None, allow_none=True)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


class CustomerCreateSchema(InputSchema):
    """A new customer user; the login defaults to the e-mail address."""

    email = Text(required=True, max_length=320)
    login = Text(load_default="", max_length=200)
    first_name = Text(load_default="", max_length=200)
    last_name = Text(load_default="", max_length=200)
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))
    company_id = Id(load_default=None, allow_none=True)
    sees_company_tickets = fields.Boolean(load_default=True)
    password = Text(load_default=None, allow_none=True, max_length=200, load_only=True)


class CustomerUpdateSchema(InputSchema):
    """Changes to a customer user; absent fields stay as they are."""

    email = Text(max_length=320)
    login = Text(max_length=200)
    first_name = Text(max_length=200)
    last_name = Text(max_length=200)
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    company_id = Id(allow_none=True)
    sees_company_tickets = fields.Boolean()
    valid = fields.Boolean(metadata={"description": "false deactivates, true reactivates"})
    password = Text(max_length=200, load_only=True)


class AdminCompanySchema(Schema):
    """A customer company."""

    id = fields.Integer(required=True)
    customer_id = fields.String(required=True)
    name = fields.String(required=True)
    street = fields.String(required=True)
    city = fields.String(required=True)
    country = fields.String(required=True)
    comment = fields.String(required=True)
    valid = fields.Boolean(required=True)


class CompanyListQuerySchema(InputSchema):
    """Search and page the companies."""

    q = Text(load_default="", max_length=200, metadata={"description": "name or company id"})
    valid = fields.Boolean(load_default=None, allow_none=True)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


class CompanyCreateSchema(InputSchema):
    """A new customer company."""

    customer_id = Text(required=True, max_length=150)
    name = Text(required=True, max_length=200)
    street = Text(load_default="", max_length=200)
    city = Text(load_default="", max_length=200)
    country = Text(load_default="", max_length=200)
    comment = Text(load_default="", max_length=10_000)


class CompanyUpdateSchema(InputSchema):
    """Changes to a company; absent fields stay as they are."""

    customer_id = Text(max_length=150)
    name = Text(max_length=200)
    street = Text(max_length=200)
    city = Text(max_length=200)
    country = Text(max_length=200)
    comment = Text(max_length=10_000)
    valid = fields.Boolean(metadata={"description": "false deactivates, true reactivates"})


@bp.route("/customers", methods=["GET"])
@bp.arguments(CustomerListQuerySchema, location="query")
@bp.response(200, AdminCustomerSchema(many=True))
def list_customers(args: dict[str, Any]) -> list[CustomerUser]:
    """Customer users by login, 50 a page (``page``)."""
    found = customer_admin.search_customers(
        db(),
        actor=current_agent(),
        words=args["q"],
        valid=args["valid"],
        company_id=args["company_id"],
        page=args["page"],
    )
    return list(found.items)


@bp.route("/customers", methods=["POST"])
@bp.arguments(CustomerCreateSchema)
@bp.response(201, AdminCustomerSchema)
def create_customer(args: dict[str, Any]) -> CustomerUser:
    """Create a customer user."""
    return customer_admin.create_customer(db(), actor=current_agent(), **args)


@bp.route("/customers/<int:customer_id>", methods=["GET"])
@bp.response(200, AdminCustomerSchema)
def get_customer(customer_id: int) -> CustomerUser:
    """One customer user."""
    return customer_admin.get_customer(db(), actor=current_agent(), customer_id=customer_id)


@bp.route("/customers/<int:customer_id>", methods=["PATCH"])
@bp.arguments(CustomerUpdateSchema)
@bp.response(200, AdminCustomerSchema)
def update_customer(args: dict[str, Any], customer_id: int) -> CustomerUser:
    """Change a customer user's fields, deactivate or reactivate it, or set its password."""
    session, actor = db(), current_agent()
    customer = customer_admin.get_customer(session, actor=actor, customer_id=customer_id)
    valid = args.pop("valid", None)
    password = args.pop("password", None)
    if args:
        current = {
            "email": customer.email,
            "login": customer.login,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "language": customer.language,
            "company_id": customer.company_id,
            "sees_company_tickets": customer.sees_company_tickets,
        }
        customer_admin.update_customer(session, actor=actor, customer=customer, **{**current, **args})
    if password is not None:
        customer_admin.set_customer_password(session, actor=actor, customer=customer, password=password)
    if valid is not None:
        customer_admin.set_customer_valid(session, actor=actor, customer=customer, valid=valid)
    return customer


@bp.route("/companies", methods=["GET"])
@bp.arguments(CompanyListQuerySchema, location="query")
@bp.response(200, AdminCompanySchema(many=True))
def list_companies(args: dict[str, Any]) -> list[CustomerCompany]:
    """Companies by name, 50 a page (``page``)."""
    found = customer_admin.search_companies(
        db(), actor=current_agent(), words=args["q"], valid=args["valid"], page=args["page"]
    )
    return list(found.items)


@bp.route("/companies", methods=["POST"])
@bp.arguments(CompanyCreateSchema)
@bp.response(201, AdminCompanySchema)
def create_company(args: dict[str, Any]) -> CustomerCompany:
    """Create a customer company."""
    return customer_admin.create_company(db(), actor=current_agent(), **args)


@bp.route("/companies/<int:company_id>", methods=["GET"])
@bp.response(200, AdminCompanySchema)
def get_company(company_id: int) -> CustomerCompany:
    """One company."""
    return customer_admin.get_company(db(), actor=current_agent(), company_id=company_id)


@bp.route("/companies/<int:company_id>", methods=["PATCH"])
@bp.arguments(CompanyUpdateSchema)
@bp.response(200, AdminCompanySchema)
def update_company(args: dict[str, Any], company_id: int) -> CustomerCompany:
    """Change a company's fields, or deactivate / reactivate it."""
    session, actor = db(), current_agent()
    company = customer_admin.get_company(session, actor=actor, company_id=company_id)
    valid = args.pop("valid", None)
    if args:
        current = {name: getattr(company, name) for name in customer_admin.COMPANY_FIELDS}
        customer_admin.update_company(session, actor=actor, company=company, **{**current, **args})
    if valid is not None:
        customer_admin.set_company_valid(session, actor=actor, company=company, valid=valid)
    return company
