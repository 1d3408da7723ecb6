"""A tripwire for what must not happen in the fork server before it forks, on macOS.

macOS's Objective-C runtime is not fork-safe: once a parent has initialised it, a child that
uses it (without ``exec``) may be killed outright ("+[NSCFConstantString initialize] may have
been in progress in another thread when fork() was called"). Python code initialises it by
looking up the system proxy settings: ``urllib.request.getproxies()`` and ``proxy_bypass()``
call ``_scproxy`` (SystemConfiguration), and httpx does so for every client built with
``trust_env``. So the fork server must build no HTTP client and look up no proxy before it
forks; workers, which never fork, may.

``Tripwire`` records every such call (and every httpx client built, whatever its
``trust_env``) without changing what the calls do; the fork server arms it around its
preload in portable mode and reports each hit as a preload problem. It must be armed before
httpx is imported, which binds ``getproxies`` by name.
"""

from __future__ import annotations

import functools
import importlib
import urllib.request
from collections.abc import Callable
from types import ModuleType
from typing import Any

HTTPX_CLIENTS = ("Client", "AsyncClient")


class Tripwire:
    """Arm with ``arm()``; ``disarm()`` restores everything and returns the hits."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self._restore: list[tuple[Any, str, Any]] = []

    def arm(self) -> None:
        for name in ("getproxies", "proxy_bypass"):
            self._wrap(urllib.request, name, f"urllib.request.{name}() called")
        httpx = importlib.import_module("httpx")
        utils: ModuleType = importlib.import_module("httpx._utils")
        if hasattr(utils, "getproxies"):  # bound before the wrapper if httpx came first
            self._wrap(utils, "getproxies", "urllib.request.getproxies() called (by httpx)")
        for name in HTTPX_CLIENTS:
            cls = getattr(httpx, name)
            self._wrap(cls, "__init__", f"httpx.{name} built")

    def disarm(self) -> list[str]:
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)
        self._restore.clear()
        return self.hits

    def _wrap(self, owner: Any, name: str, hit: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)
        if getattr(original, "__wrapped_by_tripwire__", False):
            return

        @functools.wraps(original)
        def recording(*args: Any, **kwargs: Any) -> Any:
            self.hits.append(hit)
            return original(*args, **kwargs)

        recording.__wrapped_by_tripwire__ = True  # type: ignore[attr-defined]
        self._restore.append((owner, name, original))
        setattr(owner, name, recording)
