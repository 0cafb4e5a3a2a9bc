"""course_utils.hub: offline mode, the reachability check (no real network), and the error message."""

from __future__ import annotations

import socket
import time

import pytest

from course_utils import hub
from course_utils.hub import HubUnavailableError, hub_offline_mode, hub_reachable, unavailable


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", " on "])
def test_offline_mode_on(monkeypatch, value):
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert hub_offline_mode() is True


@pytest.mark.parametrize("value", ["0", "", "false", "no", "off"])
def test_offline_mode_off(monkeypatch, value):
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert hub_offline_mode() is False


def test_offline_mode_unset(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert hub_offline_mode() is False


def test_offline_mode_never_opens_a_connection(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("opened a connection in offline mode"))
    start = time.perf_counter()
    assert hub_reachable() is False
    assert time.perf_counter() - start < 1


class _Connection:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_reachable_when_a_connection_opens(monkeypatch):
    calls = []
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(socket, "create_connection", lambda address, timeout: calls.append((address, timeout)) or _Connection())
    assert hub_reachable(timeout=1.5) is True
    assert calls == [(("huggingface.co", 443), 1.5)]


@pytest.mark.parametrize("error", [socket.timeout("timed out"), socket.gaierror("no DNS"), ConnectionRefusedError()])
def test_unreachable_when_the_connection_fails(monkeypatch, error):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")

    def fail(address, timeout):
        raise error

    monkeypatch.setattr(socket, "create_connection", fail)
    assert hub_reachable() is False


def test_unavailable_names_what_why_and_the_options():
    err = unavailable("the checkpoint 'x/y'", "huggingface.co cannot be reached")
    assert isinstance(err, HubUnavailableError)
    assert isinstance(err, ConnectionError)  # callers catching ConnectionError / OSError still catch it
    message = str(err)
    assert message.startswith("Could not load the checkpoint 'x/y' from the Hugging Face Hub: huggingface.co cannot be reached.")
    for option in ("COURSE_PROFILE=smoke", "COURSE_CHECKPOINT=<folder>", "COURSE_DATA=<folder>", "`make offline-assets`", "HF_HUB_OFFLINE=1"):
        assert option in message
    assert hub.OFFLINE_OPTIONS in message
