"""Who may connect and how: tokens, the bind-address rule, TLS, Origins and Host names.

Pure checks plus the one place an ``ssl.SSLContext`` is built. Tokens are compared in constant
time (``hmac.compare_digest``) so response timing does not leak how much of a guess matched.

Loopback is not a trust boundary: any web page in the user's browser can open a WebSocket to
127.0.0.1 (the browser then sends its ``Origin``) or reach it through a name it controls and
re-points at 127.0.0.1 (DNS rebinding: the browser sends that name as ``Host``).
``origin_refusal`` and ``host_refusal`` say why such a handshake is refused.
"""

from __future__ import annotations

import hmac
import ipaddress
import ssl
from collections.abc import Sequence
from typing import Final

from runtime.settings import Settings
from runtime.web_names import normal_host, normal_origin


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
    gateway = settings.gateway
    if is_loopback_host(gateway.host) or gateway.token or gateway.insecure:
        return
    raise GatewayConfigError(
        f"refusing to listen on {gateway.host!r} without a token: anyone who can reach that "
        "address could drive every character. Set GREENROOM_TOKEN (or --token), bind "
        "127.0.0.1, or pass --insecure if this network is trusted."
    )


def check_allowed_names(settings: Settings) -> None:
    """Refuse ``--allowed-origin`` values that are not ``scheme://host[:port]`` and
    ``--allowed-host`` values that are not a host name: they could never match (settings
    load has already brought the valid ones to their normal form)."""
    bad = [f"--allowed-origin {v!r} is not scheme://host[:port] (e.g. http://localhost:3000)"
           for v in settings.gateway.allowed_origins if normal_origin(v) != v]
    bad += [f"--allowed-host {v!r} is not a host name or address (e.g. greenroom.lan)"
            for v in settings.gateway.allowed_hosts if normal_host(v) != v]
    if bad:
        raise GatewayConfigError(
            "; ".join(bad) + " (GREENROOM_ALLOWED_ORIGINS / GREENROOM_ALLOWED_HOSTS)"
        )


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """A server TLS context from ``tls_cert``/``tls_key``, or ``None`` when both are unset."""
    if settings.gateway.tls_cert is None and settings.gateway.tls_key is None:
        return None
    if settings.gateway.tls_cert is None or settings.gateway.tls_key is None:
        raise GatewayConfigError(
            "TLS needs both --tls-cert and --tls-key (GREENROOM_TLS_CERT/GREENROOM_TLS_KEY); "
            "only one is set."
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.gateway.tls_cert, settings.gateway.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise GatewayConfigError(
            f"cannot load TLS certificate {settings.gateway.tls_cert} / key "
            f"{settings.gateway.tls_key}: {exc}"
        ) from exc
    return context


_LOOPBACK_NAMES: Final = ("127.0.0.1", "localhost", "[::1]")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def loopback_origins(port: int, *, tls: bool) -> frozenset[str]:
    """The Origins of pages served on this gateway's own loopback address and port."""
    schemes = ("http", "https") if tls else ("http",)
    origins = {f"{scheme}://{name}:{port}" for scheme in schemes for name in _LOOPBACK_NAMES}
    origins |= {
        f"{scheme}://{name}"
        for scheme in schemes
        if _DEFAULT_PORTS[scheme] == port
        for name in _LOOPBACK_NAMES
    }
    return frozenset(origins)


def origin_refusal(
    origins: Sequence[str], *, port: int, tls: bool, allowed: Sequence[str]
) -> str | None:
    """Why a handshake with these ``Origin`` header values is refused, or ``None``.

    No header: a command-line tool or script (browsers always send one), accepted. One header:
    accepted when it is a loopback origin on the gateway's own ``port`` or one of ``allowed``
    (``--allowed-origin``, in ``normal_origin`` form; the header is compared in that form
    too). ``null`` (sandboxed frames, ``file:`` pages) and any other page are refused, as is
    more than one header.
    """
    if not origins:
        return None
    if len(origins) > 1:
        return "more than one Origin header"
    origin = origins[0]
    if origin == "null":
        return (
            "Origin 'null' (a sandboxed or file: page) may not connect; serve the page from an "
            "origin and allow it with --allowed-origin"
        )
    normal = normal_origin(origin)
    if normal is not None and (normal in allowed or normal in loopback_origins(port, tls=tls)):
        return None
    return (
        f"Origin {origin!r} may not connect: a web page may drive greenroom only from this "
        "gateway's own loopback address or an --allowed-origin (GREENROOM_ALLOWED_ORIGINS)"
    )


def host_name(host_header: str) -> str:
    """The name or address of a ``Host`` header value, without port, brackets or a final dot,
    lowercased: ``[::1]:8765`` → ``::1``, ``Localhost.:80`` → ``localhost``."""
    value = host_header.strip().lower()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def host_refusal(hosts: Sequence[str], *, bind_host: str, allowed: Sequence[str]) -> str | None:
    """Why a request with these ``Host`` header values is refused (DNS rebinding), or ``None``.

    Accepted, with or without a port: the address the gateway listens on, ``localhost``, a
    name in ``allowed`` (``--allowed-host``), and IP literals the gateway can be reached at
    (an address cannot be rebound): any loopback address on a loopback bind, any address on
    a wildcard bind (``0.0.0.0``, ``::``). Any other name is refused.
    """
    if len(hosts) != 1:
        return "a request needs exactly one Host header"
    name = host_name(hosts[0])
    bind = host_name(bind_host) if bind_host.startswith("[") else bind_host.lower()
    if name in {bind, "localhost", *(host_name(h) for h in allowed)}:
        return None
    address, bound = _ip(name), _ip(bind)
    if address is not None and (
        (bound is not None and bound.is_unspecified)
        or (address.is_loopback and is_loopback_host(bind))
    ):
        return None
    return (
        f"Host {hosts[0]!r} is not this gateway's address (a DNS-rebinding web page?); if that "
        "name is yours, allow it with --allowed-host (GREENROOM_ALLOWED_HOSTS)"
    )
