"""course_utils.hub: offline mode, the reachability check (no real network), and the error message."""

from __future__ import annotations

import contextlib
import socket
from unittest import mock

import huggingface_hub
import huggingface_hub.constants
import pytest

from course_utils import hub


@pytest.fixture
def online(monkeypatch):
    """As if HF_HUB_OFFLINE were unset when huggingface_hub was imported (is_offline_mode() reads that)."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


def test_offline_mode_never_opens_a_connection(no_network):
    assert huggingface_hub.is_offline_mode() is True  # the tests run with HF_HUB_OFFLINE=1 (conftest.py)
    assert hub.hub_reachable() is False
    hub.check_reachable("anything")  # offline: the libraries will read their cache; no error, no connection


def test_reachable_when_a_connection_opens(online, monkeypatch):
    connect = mock.Mock(return_value=contextlib.nullcontext())
    monkeypatch.setattr(socket, "create_connection", connect)
    assert hub.hub_reachable(timeout=1.5) is True
    connect.assert_called_once_with(("huggingface.co", 443), timeout=1.5)
    hub.check_reachable("anything")


@pytest.mark.parametrize("error", [socket.timeout("timed out"), socket.gaierror("no DNS"), ConnectionRefusedError()])
def test_unreachable_fails_at_once_with_the_options(online, monkeypatch, error):
    monkeypatch.setattr(socket, "create_connection", mock.Mock(side_effect=error))
    assert hub.hub_reachable() is False
    with pytest.raises(hub.HubUnavailableError, match=r"the thing.*huggingface\.co cannot be reached"):
        hub.check_reachable("the thing")


def test_the_error_names_what_why_and_the_options(online, monkeypatch):
    err = hub.unavailable("the checkpoint 'x/y'", hub.failure_reason(OSError("boom")))
    assert isinstance(err, ConnectionError)  # callers catching ConnectionError / OSError still catch it
    for term in ("the checkpoint 'x/y'", "OSError: boom", "COURSE_PROFILE=smoke", "COURSE_CHECKPOINT=<folder>",
                 "COURSE_DATA=<folder>", "`make offline-assets`", "HF_HUB_OFFLINE=1"):
        assert term in str(err)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    assert hub.failure_reason(OSError("boom")) == "HF_HUB_OFFLINE=1 is set and it is not in your cache"
