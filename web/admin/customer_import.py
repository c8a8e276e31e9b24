"""CSV import of customer users: upload → preview → import → report (``desk.customer.csv_import``).

The file is kept on the server after the upload; the preview and the import name only its
id, so the client cannot change what is imported after it was previewed.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.errors import ValidationError
from desk.customer import csv_import
from web.admin.forms import admin_actor, checked
from web.admin.views import bp
from web.auth import login_required
from web.db import get_db


def _upload_page(errors: dict[str, list[str]], status: int = 200) -> ResponseReturnValue:
    page = render_template(
        "admin/customers/import_upload.html",
        errors=errors,
        form=request.form,
        encodings=csv_import.ENCODINGS,
        delimiters=csv_import.DELIMITERS,
        max_mib=csv_import.MAX_BYTES // (1024 * 1024),
    )
    return page, status


@bp.route("/customers/import", methods=["GET", "POST"])
@login_required
def customer_import() -> ResponseReturnValue:
    """Upload a CSV file of customer users; it is kept for the preview."""
    actor = admin_actor()
    if request.method == "GET":
        return _upload_page({})
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_page({"file": ["choose a CSV file"]}, 422)
    # One byte more than allowed is enough to know that the file is too big.
    data = upload.stream.read(csv_import.MAX_BYTES + 1)
    session = get_db()
    try:
        with session.begin_nested():
            stored = csv_import.upload(
                session,
                actor=actor,
                data=data,
                file_name=upload.filename,
                encoding=request.form.get("encoding", "auto"),
                delimiter=request.form.get("delimiter", "auto"),
            )
    except ValidationError as exc:
        return _upload_page(exc.errors, 422)
    target = url_for("admin.customer_import_preview", import_id=stored.id)
    if checked("create_companies"):
        target += "?create_companies=on"
    return redirect(target, code=303)


@bp.get("/customers/import/<int:import_id>")
@login_required
def customer_import_preview(import_id: int) -> ResponseReturnValue:
    """The preview (how the file was read, the first rows, what would be refused) or, once
    imported, the report."""
    session = get_db()
    actor = admin_actor()
    stored = csv_import.get_import(session, actor=actor, import_id=import_id)
    if stored.status != "uploaded":
        return render_template(
            "admin/customers/import_report.html", stored=stored, rows=csv_import.report_of(stored)
        )
    create_companies = checked("create_companies", request.args)
    preview = csv_import.preview(session, actor=actor, stored=stored, create_companies=create_companies)
    return render_template(
        "admin/customers/import_preview.html",
        stored=stored,
        preview=preview,
        create_companies=create_companies,
    )


@bp.post("/customers/import/<int:import_id>")
@login_required
def customer_import_run(import_id: int) -> ResponseReturnValue:
    """Import the previewed file: valid rows become customers, the others are reported."""
    session = get_db()
    actor = admin_actor()
    stored = csv_import.get_import(session, actor=actor, import_id=import_id)
    csv_import.run(session, actor=actor, stored=stored, create_companies=checked("create_companies"))
    return redirect(url_for("admin.customer_import_preview", import_id=import_id), code=303)
