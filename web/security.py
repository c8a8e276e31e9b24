"""Security headers on every response.

The Content-Security-Policy allows scripts, styles and fonts from our own origin only: no
inline script (htmx is configured from a ``<meta>`` tag and ``static/app.js``), images
also as ``data:`` URLs.  A page that needs more (the BPMN designer, later) sets its own
header; ``setdefault`` leaves it alone.
"""

from __future__ import annotations

from flask import Flask, Response, request

from core.config import Settings

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask, settings: Settings) -> None:
    """Add the security headers to every response of ``app``."""
    headers = dict(_HEADERS)
    if settings.env == "production":
        # Production is served over HTTPS (the session cookie is Secure there).
        headers["Strict-Transport-Security"] = "max-age=31536000"

    def add_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if request.endpoint != "static":
            # Pages show ticket contents: keep them out of shared caches and out of the
            # browser's back-button cache after sign-out.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.after_request(add_headers)
