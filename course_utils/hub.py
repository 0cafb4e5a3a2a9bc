"""Talking to the Hugging Face Hub, or failing within seconds, naming the offline options, when it is out of
reach (the libraries retry for a minute). In offline mode (``HF_HUB_OFFLINE=1``, set before Jupyter starts)
the libraries use their cache and the course never opens a connection.

Example:
    >>> print(unavailable("the checkpoint 'x/y'", "huggingface.co cannot be reached"))  # doctest: +ELLIPSIS
    Could not load the checkpoint 'x/y' from the Hugging Face Hub: huggingface.co cannot be reached.
    The course can run without the Hub:
    ...
"""

from __future__ import annotations

import socket

from huggingface_hub import is_offline_mode

HUB_HOST = "huggingface.co"

OFFLINE_OPTIONS = """\
The course can run without the Hub:
  - COURSE_PROFILE=smoke runs every notebook offline with a tiny model and the SST-2 sample shipped in course_utils;
  - COURSE_CHECKPOINT=<folder> and COURSE_DATA=<folder> point the course at local copies
    (a teacher makes them once with `make offline-assets` on a machine with Hub access);
  - if the files are already in your Hugging Face cache, set HF_HUB_OFFLINE=1 to use the cache
    without asking the Hub."""

#: Why something could not be had in offline mode.
NOT_IN_CACHE = "HF_HUB_OFFLINE=1 is set and it is not in your cache"
UNREACHABLE = "huggingface.co cannot be reached"


class HubUnavailableError(ConnectionError):
    """The Hub cannot be reached and what was asked for is not available locally."""


def hub_reachable(timeout: float = 3.0) -> bool:
    """Can we open a connection to the Hub within ``timeout`` seconds? Never tries in offline mode."""
    if is_offline_mode():
        return False
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def unavailable(what: str, reason: str) -> HubUnavailableError:
    """Build the error for something we could not get from the Hub, naming the offline options."""
    return HubUnavailableError(f"Could not load {what} from the Hugging Face Hub: {reason}.\n{OFFLINE_OPTIONS}")


def check_reachable(what: str) -> None:
    """Raise :class:`HubUnavailableError` at once when the Hub cannot be reached; in offline mode pass (the
    libraries read their cache, and the caller turns their failure into ``unavailable(what, NOT_IN_CACHE)``)."""
    if not is_offline_mode() and not hub_reachable():
        raise unavailable(what, UNREACHABLE)


def failure_reason(err: BaseException) -> str:
    """The reason to show when a library call for the Hub failed with ``err``."""
    return NOT_IN_CACHE if is_offline_mode() else f"{type(err).__name__}: {err}"
