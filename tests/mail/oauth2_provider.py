"""A small OAuth2 provider for the mail tests: a token endpoint and token introspection.

It runs on a thread on 127.0.0.1 (``http.server``) and does what Microsoft's and Google's
endpoints do for a mailbox: ``POST /token`` answers the refresh-token grant (RFC 6749,
section 6) with a fresh access token, or ``400 invalid_grant`` for a revoked or unknown
refresh token or a wrong client; ``POST /introspect`` (RFC 7662) tells Dovecot's ``oauth2``
passdb whether an access token is active and whose it is.  It records every grant, so tests
can see that a cached token was used instead of a new one.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Provider:
    """The provider's state: one registered client and the refresh tokens it issued."""

    client_id: str = "ticketflow-test-client"
    client_secret: str = "client-secret-value"
    # refresh token -> the mailbox (user name) it was issued for
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    # access token -> the mailbox it belongs to
    access_tokens: dict[str, str] = field(default_factory=dict)
    grants: list[dict[str, str]] = field(default_factory=list)
    introspected: list[str] = field(default_factory=list)
    expires_in: int = 3600
    rotate: bool = False
    port: int = 0

    @property
    def token_url(self) -> str:
        """The token endpoint."""
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def introspection_url(self) -> str:
        """The introspection endpoint Dovecot asks."""
        return f"http://127.0.0.1:{self.port}/introspect"

    def issue_refresh_token(self, username: str) -> str:
        """A refresh token for ``username``, as the mailbox owner's consent would give."""
        token = "rt-" + secrets.token_urlsafe(24)
        self.refresh_tokens[token] = username
        return token

    def revoke(self, refresh_token: str) -> None:
        """Revoke a refresh token (the user changed the password, an admin revoked it)."""
        self.refresh_tokens.pop(refresh_token, None)

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        """Answer one token request."""
        self.grants.append(form)
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "invalid_client", "error_description": "client authentication failed"}
        username = self.refresh_tokens.get(form.get("refresh_token", ""))
        if username is None:
            revoked = "AADSTS70000: the refresh token was revoked"
            return 400, {"error": "invalid_grant", "error_description": revoked}
        access = "at-" + secrets.token_urlsafe(24)
        self.access_tokens[access] = username
        answer: dict[str, object] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.rotate:
            self.revoke(form["refresh_token"])
            answer["refresh_token"] = self.issue_refresh_token(username)
        return 200, answer

    def introspect(self, form: dict[str, str]) -> dict[str, object]:
        """RFC 7662 introspection of an access token."""
        self.introspected.append(form.get("token", ""))
        username = self.access_tokens.get(form.get("token", ""))
        if username is None:
            return {"active": False}
        return {"active": True, "username": username, "client_id": self.client_id}


class _Handler(BaseHTTPRequestHandler):
    provider: Provider

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        form = {key: values[0] for key, values in parse_qs(body).items()}
        if self.path == "/token":
            status, answer = self.provider.grant(form)
        elif self.path.startswith("/introspect"):
            status, answer = 200, self.provider.introspect(form)
        else:
            status, answer = 404, {"error": "not_found"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests assert on the provider's records instead."""


def run_provider() -> Iterator[Provider]:
    """Serve a provider on a free port of 127.0.0.1 until the generator is closed."""
    provider = Provider()
    handler = type("Handler", (_Handler,), {"provider": provider})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    provider.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
