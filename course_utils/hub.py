"""Talking to the Hugging Face Hub, or failing fast with a useful message when it is out of reach.

``from_pretrained`` and ``load_dataset`` retry an unreachable Hub for about a minute before
they fail with a message about "offline mode". The course checks first (a few seconds at
most) and, when the Hub cannot be reached, says which offline options exist.

Example:
    >>> isinstance(hub_reachable(timeout=0.5), bool)
    True
"""

from __future__ import annotations

import os
import socket

HUB_HOST = "huggingface.co"

OFFLINE_OPTIONS = """\
The course can run without the Hub:
  - COURSE_PROFILE=smoke runs every notebook offline with a tiny model and the SST-2 sample shipped in course_utils;
  - COURSE_CHECKPOINT=<folder> and COURSE_DATA=<folder> point the course at local copies
    (a teacher makes them once with `make offline-assets` on a machine with Hub access);
  - if the files are already in your Hugging Face cache, set HF_HUB_OFFLINE=1 to use the cache without asking the Hub."""


class HubUnavailableError(ConnectionError):
    """The Hub cannot be reached and what was asked for is not available locally."""


def hub_offline_mode() -> bool:
    """True when the user asked the Hugging Face libraries to stay offline (``HF_HUB_OFFLINE=1``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = 3.0) -> bool:
    """Can we open a connection to the Hub within ``timeout`` seconds?"""
    if hub_offline_mode():
        return False
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def unavailable(what: str, reason: str) -> HubUnavailableError:
    """Build the error for something we could not get from the Hub, naming the offline options."""
    return HubUnavailableError(f"Could not load {what} from the Hugging Face Hub: {reason}.\n{OFFLINE_OPTIONS}")
