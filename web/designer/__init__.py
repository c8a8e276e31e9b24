"""The process designer (/designer): the bpmn-js modeler, lint, validation, versions, diffs."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the designer's pages and its JSON endpoints, and the header link."""
    from web.designer.views import bp, designer_link

    app.register_blueprint(bp)
    app.context_processor(designer_link)
