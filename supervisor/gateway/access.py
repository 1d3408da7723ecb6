"""Who may connect and how: tokens, the bind-address rule, TLS and allowed Origins.

Pure checks plus the one place an ``ssl.SSLContext`` is built. Tokens are compared in constant
time (``hmac.compare_digest``) so response timing does not leak how much of a guess matched.
"""

from __future__ import annotations

import hmac
import ipaddress
import ssl
from collections.abc import Sequence

from websockets.typing import Origin

from supervisor.settings import Settings
from worker.characters.model import is_valid_character_id


class GatewayConfigError(ValueError):
    """The gateway refuses to start with these settings; the message says which and why."""


def token_matches(offered: str | None, expected: str | None) -> bool:
    """True when no token is configured, or ``offered`` equals it (constant-time)."""
    if expected is None:
        return True
    if offered is None:
        return False
    return hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, else ``None``."""
    if authorization is None:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals; any other name counts as exposed,
    because what it resolves to may change."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind_allowed(settings: Settings) -> None:
    """Refuse a non-loopback bind without a token unless ``insecure`` is set."""
    if is_loopback_host(settings.host) or settings.token or settings.insecure:
        return
    raise GatewayConfigError(
        f"refusing to listen on {settings.host!r} without a token: anyone who can reach that "
        "address could drive every character. Set GREENROOM_TOKEN (or --token), bind "
        "127.0.0.1, or pass --insecure if this network is trusted."
    )


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """A server TLS context from ``tls_cert``/``tls_key``, or ``None`` when both are unset."""
    if settings.tls_cert is None and settings.tls_key is None:
        return None
    if settings.tls_cert is None or settings.tls_key is None:
        raise GatewayConfigError(
            "TLS needs both --tls-cert and --tls-key (GREENROOM_TLS_CERT/GREENROOM_TLS_KEY); "
            "only one is set."
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise GatewayConfigError(
            f"cannot load TLS certificate {settings.tls_cert} / key {settings.tls_key}: {exc}"
        ) from exc
    return context


def allowed_origins(settings: Settings) -> Sequence[Origin | None] | None:
    """The ``origins`` argument for ``websockets.serve``.

    ``None`` (no check) when nothing is configured. Otherwise the configured origins plus
    ``None``: a request without an ``Origin`` header comes from a non-browser client, which
    cross-site WebSocket hijacking cannot involve; browsers always send the header.
    """
    if not settings.allowed_origins:
        return None
    return [*(Origin(origin) for origin in settings.allowed_origins), None]


def is_safe_character_id(character_id: str) -> bool:
    """The one character-id rule (lowercase letters, digits, ``-``, ``_``): never a path."""
    return is_valid_character_id(character_id)
