"""Fixtures of the administration page tests: helpers to post admin forms as a browser would."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.web.conftest import csrf_token_in

PostForm = Callable[..., TestResponse]


@pytest.fixture
def post_form(client: FlaskClient) -> PostForm:
    """``post_form(page_url, action_url, data)``: open the page, post its form with the CSRF token."""

    def post(
        page_url: str, action_url: str | None = None, data: dict[str, object] | None = None
    ) -> TestResponse:
        page = client.get(page_url)
        assert page.status_code == 200, page.text[:500]
        return client.post(
            action_url or page_url, data={**(data or {}), "csrf_token": csrf_token_in(page.text)}
        )

    return post
