"""An OpenID Connect provider on loopback, standing for the accounts system beyond the
machine (Fedora Accounts in production).

It implements the authorization code flow as a real provider does: a discovery document,
``/authorize`` (the person logging in is whoever the test put in ``provider.person``;
there is no login form to fill), ``/token`` (client authentication, one use per code,
the redirect URI checked again), ``/userinfo`` (bearer token) and ``/jwks`` with the
public key the ID tokens are signed with (RS256).  ``provider.tamper`` makes it misbehave
the way a hostile or broken provider could, for the tests of what the frontend refuses.

Fixture: ``oidc_provider`` -> :class:`OidcProvider` (``.url`` is the issuer).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from copr_common.testing.services import free_port


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    claims: dict[str, Any]


@dataclass
class OidcProvider:
    url: str
    client_id: str = "copr-frontend"
    client_secret: str = "oidc-client-secret-for-tests"
    """The one client registered at the provider."""
    person: dict[str, Any] = field(default_factory=dict)
    """Claims of whoever logs in at the provider next (``sub``, ``preferred_username``, ...)."""
    profile_in_id_token: bool = True
    """Whether the ID token carries the profile claims or only ``sub`` (then the client
    must ask ``/userinfo``)."""
    tamper: set[str] = field(default_factory=set)
    """``nonce`` (a wrong nonce in the ID token), ``signature`` (signed with a key not in
    the JWKS), ``audience`` (issued to another client), ``no_id_token``, ``userinfo_sub``
    (userinfo names another subject)."""
    redirect_uris: list[str] = field(default_factory=list)
    """Registered redirect URIs of the client; empty: any."""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    rogue_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    grants: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: int = 0

    # --- the endpoints ------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        routes = {
            "/.well-known/openid-configuration": self.discovery,
            "/authorize": self.authorize,
            "/token": self.token,
            "/userinfo": self.userinfo,
            "/jwks": self.jwks,
        }
        handler = routes.get(request.path)
        response = handler(request) if handler else self._json({"error": "not_found"}, 404)
        return response(environ, start_response)

    @staticmethod
    def _json(data: dict[str, Any], status: int = 200) -> Response:
        return Response(json.dumps(data), status, content_type="application/json")

    def discovery(self, request: Request) -> Response:
        return self._json(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "userinfo_endpoint": f"{self.url}/userinfo",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    def authorize(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != self.client_id:
            return Response("unknown client", 400)
        redirect_uri = args.get("redirect_uri", "")
        if self.redirect_uris and redirect_uri not in self.redirect_uris:
            # Never redirect to an unregistered URI, not even with an error.
            return Response("unregistered redirect_uri", 400)
        back: dict[str, str] = {}
        if args.get("state"):
            back["state"] = args["state"]
        if args.get("response_type") != "code" or "openid" not in args.get("scope", "").split():
            back["error"] = "invalid_request"
        else:
            code = secrets.token_urlsafe(24)
            self.grants[code] = Grant(
                self.client_id, redirect_uri, args.get("nonce"), dict(self.person)
            )
            back["code"] = code
        return Response(status=302, headers={"Location": f"{redirect_uri}?{urlencode(back)}"})

    def _client_authenticated(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            login, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            login = request.form.get("client_id", "")
            secret = request.form.get("client_secret", "")
        return login == self.client_id and secrets.compare_digest(secret, self.client_secret)

    def token(self, request: Request) -> Response:
        self.token_requests += 1
        if request.method != "POST":
            return self._json({"error": "invalid_request"}, 405)
        if not self._client_authenticated(request):
            return self._json({"error": "invalid_client"}, 401)
        form = request.form
        if form.get("grant_type") != "authorization_code":
            return self._json({"error": "unsupported_grant_type"}, 400)
        grant = self.grants.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant.redirect_uri != form.get("redirect_uri"):
            return self._json({"error": "invalid_grant"}, 400)
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = grant.claims
        body: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "openid profile email",
        }
        if "no_id_token" not in self.tamper:
            body["id_token"] = self._id_token(grant, access_token)
        return self._json(body)

    def _id_token(self, grant: Grant, access_token: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": grant.claims["sub"],
            "aud": "another-client" if "audience" in self.tamper else grant.client_id,
            "iat": now,
            "exp": now + 300,
            "at_hash": _half_hash(access_token),
        }
        if grant.nonce is not None:
            claims["nonce"] = "not-the-nonce" if "nonce" in self.tamper else grant.nonce
        if self.profile_in_id_token:
            claims = {**grant.claims, **claims}
        key = self.rogue_key if "signature" in self.tamper else self.key
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)

    def userinfo(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        claims = self.access_tokens.get(header.removeprefix("Bearer "))
        if not header.startswith("Bearer ") or claims is None:
            return self._json({"error": "invalid_token"}, 401)
        if "userinfo_sub" in self.tamper:
            claims = {**claims, "sub": "someone-else"}
        return self._json(claims)

    def jwks(self, request: Request) -> Response:
        return self._json(KeySet([self.key]).as_dict(private=False))


def _half_hash(value: str) -> str:
    """``at_hash`` of RS256: the left half of the SHA-256, base64url without padding."""
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


@pytest.fixture
def oidc_provider() -> Iterator[OidcProvider]:
    port = free_port()
    provider = OidcProvider(f"http://127.0.0.1:{port}")
    server: BaseWSGIServer = make_server("127.0.0.1", port, provider.wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="oidc-provider", daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
