"""Write rate limiting and bearer-token auth, both decided before any body is read."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Sequence

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from pegasus_core.ports.rate_limiter import RateLimiter
from pegasus_core.records import Record
from pegasus_http.problems import send_problem

log = logging.getLogger("pegasus.http")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
PUBLIC_PREFIXES = ("/health", "/metrics", "/schema")
_READ_METHODS = {"GET", "HEAD", "OPTIONS"}


class SecurityPolicy(Record, frozen=True, kw_only=True):
    """Tokens, trusted proxies and the write rate limit (CONTRACT.md section 2)."""

    write_token: str | None = None
    read_token: str | None = None
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    write_limit: int = 60
    write_window_sec: int = 60


def parse_networks(entries: Sequence[str]) -> list[Network]:
    """Parse addresses and CIDRs (an empty list trusts no proxy)."""
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip()]


def client_key(scope: Scope, trusted: Sequence[Network]) -> str:
    """Return the client's address: the first X-Forwarded-For entry from a trusted proxy only.

    Otherwise the socket address, so rotating the header cannot escape the rate limit.
    """
    peer = (scope.get("client") or ("unknown", 0))[0]
    try:
        peer_ip = ipaddress.ip_address(peer)
    except ValueError:
        return peer
    if any(peer_ip in network for network in trusted):
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                first = value.decode("latin-1").split(",")[0].strip()
                try:
                    return str(ipaddress.ip_address(first))
                except ValueError:
                    break
    return str(peer_ip)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def _matches(token: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(token.encode(), expected.encode())


def is_public(path: str) -> bool:
    """Tell whether a GET path is open without a read token."""
    return any(path == p or path.startswith(p + "/") for p in PUBLIC_PREFIXES)


def security_middleware(policy: SecurityPolicy, limiter: RateLimiter) -> type:
    """Build the ASGI middleware enforcing policy with limiter."""
    trusted = parse_networks(policy.trusted_proxies)

    class SecurityMiddleware:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await self.app(scope, receive, send)
                return
            writing = scope["method"] not in _READ_METHODS
            if writing:
                # Only writes need the client's address (the rate limit and idempotency key
                # scopes); parsing it costs more than the rest of a read's checks.
                key = client_key(scope, trusted)
                scope.setdefault("state", {})["client_key"] = key
                decision = await limiter.hit(
                    f"write:{key}", limit=policy.write_limit, window_sec=policy.write_window_sec
                )
                if not decision.allowed:
                    await send_problem(
                        send,
                        429,
                        "Too many write requests. Please retry shortly.",
                        headers={"Retry-After": str(decision.retry_after_sec)},
                    )
                    return
            if writing:
                required = policy.write_token
            elif policy.read_token is None or is_public(scope["path"]):
                required = None
            else:
                required = policy.read_token
            if required is not None:
                token = _bearer(scope)
                if token is None:
                    await send_problem(
                        send,
                        401,
                        "Missing or invalid Authorization header.",
                        headers={"WWW-Authenticate": "Bearer"},
                    )
                    return
                allowed = _matches(token, required) or (
                    not writing and _matches(token, policy.write_token)
                )
                if not allowed:
                    await send_problem(send, 403, "Invalid API token.")
                    return
                scope.setdefault("state", {})["credential"] = "token:" + _digest(token)
            await self.app(scope, receive, send)

    return SecurityMiddleware


def _digest(token: str) -> str:
    # Idempotency scopes are keyed by credential; never keep the token itself around.
    return hashlib.sha256(token.encode()).hexdigest()[:32]
