"""Origins and host names in one normal form, so a configured ``--allowed-origin`` or
``--allowed-host`` matches what a browser sends however it was typed.

Browsers send an ``Origin`` as ``scheme://host[:port]``: scheme and host lowercase, no path,
no default port. ``normal_origin`` brings a configured value (``http://LocalHost:3000/``,
``https://app.example:443``) to that form; ``normal_host`` brings a host name to the form
``host_name`` compares (lowercase, no port, brackets or final dot). Both answer ``None`` for
a value that is not one, which the gateway refuses at start.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final
from urllib.parse import urlsplit

DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_SCHEME: Final = re.compile(r"[a-z][a-z0-9+.-]*")
_LABEL: Final = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_DNS_NAME: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def normal_origin(value: str) -> str | None:
    """``scheme://host[:port]`` lowercased, without a trailing ``/`` or the scheme's default
    port; ``None`` when ``value`` is not an origin (a path, a query, user info, ``null``)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if (not _SCHEME.fullmatch(scheme) or parts.path not in ("", "/") or parts.query
            or parts.fragment or "@" in parts.netloc or "?" in value or "#" in value):
        return None
    host = normal_host(parts.netloc.rpartition(":")[0] if port is not None else parts.netloc)
    if host is None:
        return None
    shown = f"[{host}]" if ":" in host else host
    if port is None or DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


def normal_host(value: str) -> str | None:
    """A host name or IP address (with or without a port): lowercase, without port,
    brackets or final dot (``[::1]:8765`` → ``::1``, ``Box.LAN.`` → ``box.lan``); ``None``
    when ``value`` is not one (a URL, a path, spaces)."""
    text = value.strip().lower()
    if text.startswith("["):
        address, bracket, rest = text[1:].partition("]")
        if not bracket or not (rest == "" or (rest[:1] == ":" and _is_port(rest[1:]))):
            return None
        return _ipv6(address)
    if text.count(":") > 1:
        return _ipv6(text)
    name, colon, port = text.partition(":")
    if colon and not _is_port(port):
        return None
    name = name.removesuffix(".")
    return name if _DNS_NAME.fullmatch(name) else None


def _is_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) <= 65535


def _ipv6(text: str) -> str | None:
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        return None
