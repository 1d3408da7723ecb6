"""Which operating-system mechanisms greenroom uses here: Linux's extras or portable ones.

On Linux the supervisor, fork server and workers lean on three Linux-only mechanisms; every
other Unix (macOS first) gets a portable replacement that keeps the same guarantee:

==============  =====================================  ======================================
guarantee       Linux                                  portable (macOS, or GREENROOM_PORTABLE)
==============  =====================================  ======================================
parent death    ``PR_SET_PDEATHSIG(SIGKILL)`` + one    channel/control EOF + a ``getppid()``
                ``getppid`` re-check                   check every ``PARENT_CHECK_S``
peer hang-up    ``poll`` for ``POLLRDHUP``             ``poll`` for ``POLLIN``/``POLLHUP`` + a
                                                       ``MSG_PEEK`` that reads ``b""`` at EOF
zygote warm-up  full rehearsal, HTTP client included   no HTTP client built before fork (macOS:
                                                       fork-safety of the Objective-C runtime)
==============  =====================================  ======================================

``GREENROOM_PORTABLE=1`` turns every Linux-only mechanism off at once on Linux, which is how
the portable paths are tested without a Mac. It is read here and nowhere else; the fork
server and the workers inherit the environment, so all three processes agree.
"""

from __future__ import annotations

import os
import select
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

PORTABLE_VARIABLE: Final = "GREENROOM_PORTABLE"
PARENT_CHECK_S: Final = 0.5
"""Portable mode: how often a fork server or worker checks that its parent still lives."""

_ON: Final = frozenset({"1", "true", "yes", "on"})
_OFF: Final = frozenset({"", "0", "false", "no", "off"})


class PlatformSettingError(ValueError):
    """``GREENROOM_PORTABLE`` holds something that is neither on nor off."""


@dataclass(frozen=True, slots=True)
class Mechanisms:
    """What this process uses for each guarantee (logged by ``serve`` at start)."""

    portable: bool
    parent_death: str
    hangup_watch: str
    zygote_http_warmup: bool

    def describe(self) -> dict[str, object]:
        return {"portable": self.portable, "parent_death": self.parent_death,
                "hangup_watch": self.hangup_watch,
                "zygote_http_warmup": self.zygote_http_warmup}


def mechanisms_for(environ: Mapping[str, str], platform: str,
                   has_pollrdhup: bool) -> Mechanisms:
    """The mechanisms for that environment and platform (pure; ``mechanisms()`` is the
    shell). Linux's extras only on Linux, with ``POLLRDHUP``, and without the switch."""
    raw = environ.get(PORTABLE_VARIABLE, "").strip().lower()
    if raw not in _ON | _OFF:
        raise PlatformSettingError(
            f"{PORTABLE_VARIABLE}={environ[PORTABLE_VARIABLE]!r} is neither on nor off; set it"
            " to 1 (portable mechanisms only) or 0 (Linux's where available)")
    portable = raw in _ON or not platform.startswith("linux") or not has_pollrdhup
    if portable:
        return Mechanisms(portable=True, parent_death="eof+getppid-check",
                          hangup_watch="poll+peek", zygote_http_warmup=False)
    return Mechanisms(portable=False, parent_death="pdeathsig",
                      hangup_watch="pollrdhup", zygote_http_warmup=True)


def mechanisms() -> Mechanisms:
    """The mechanisms of this process (reads the environment each call: cheap)."""
    return mechanisms_for(os.environ, sys.platform, hasattr(select, "POLLRDHUP"))
