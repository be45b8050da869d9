"""Ctrl-C in a long command: the first signal asks for a stop at the next safe point, a second one aborts."""

from __future__ import annotations

import os
import signal

import pytest

from papertrader.cli.progress import stop_on_signal


def test_a_first_signal_asks_to_stop_a_second_aborts_and_the_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signal("stopping after this one") as stopping:
        assert not stopping()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stopping()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before
