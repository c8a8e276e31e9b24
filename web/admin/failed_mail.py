"""The failed-mail page: thin, ``mail.failures`` checks that the agent administers the system."""

from __future__ import annotations

import io

from flask import flash, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue

from mail import failures
from web.admin.views import bp
from web.auth import login_required
from web.auth.users import current_agent
from web.db import get_db


@bp.get("/mail/failed")
@login_required
def failed_mail() -> ResponseReturnValue:
    """Every failed inbound mail with its reason, a raw download and reprocess buttons."""
    session = get_db()
    agent = current_agent()
    return render_template(
        "admin/failed_mail.html",
        mails=failures.list_failed(session, actor=agent),
        total=failures.count_failed(session, actor=agent),
    )


@bp.get("/mail/failed/<int:raw_mail_id>.eml")
@login_required
def failed_mail_raw(raw_mail_id: int) -> ResponseReturnValue:
    """The untouched bytes, always as a download: a hostile mail is never rendered here."""
    name, data = failures.raw_bytes(get_db(), actor=current_agent(), raw_mail_id=raw_mail_id)
    return send_file(
        io.BytesIO(data), mimetype="application/octet-stream", as_attachment=True, download_name=name
    )


@bp.post("/mail/failed/<int:raw_mail_id>/reprocess")
@login_required
def reprocess_failed_mail(raw_mail_id: int) -> ResponseReturnValue:
    """Process one failed mail again (it runs once this request has committed)."""
    taken = failures.reprocess(get_db(), actor=current_agent(), raw_mail_ids=[raw_mail_id])
    flash("failed_mail_reprocessed" if taken else "failed_mail_not_failed", "success" if taken else "info")
    return redirect(url_for("admin.failed_mail"), code=303)


@bp.post("/mail/failed/reprocess")
@login_required
def reprocess_all_failed_mail() -> ResponseReturnValue:
    """Process every failed mail again, after the cause was fixed."""
    taken = failures.reprocess(get_db(), actor=current_agent())
    flash("failed_mail_reprocessed" if taken else "failed_mail_not_failed", "success" if taken else "info")
    return redirect(url_for("admin.failed_mail"), code=303)
