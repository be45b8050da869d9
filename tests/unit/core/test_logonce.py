"""OncePerMessage: a repeated marked warning is emitted once; other records always pass."""

from __future__ import annotations

import logging

from papertrader.core.logonce import OncePerMessage


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("t", logging.WARNING, __file__, 1, msg, args, None)


def test_the_same_marked_text_passes_once_and_a_different_one_passes_too() -> None:
    once = OncePerMessage("uncalibrated")
    assert once.filter(_record("%s left uncalibrated", "trend"))
    assert not once.filter(_record("%s left uncalibrated", "trend"))
    assert once.filter(_record("%s left uncalibrated", "lstm"))


def test_unmarked_records_always_pass() -> None:
    once = OncePerMessage("uncalibrated")
    assert all(once.filter(_record("fill at %d", 5)) for _ in range(3))


def test_one_filter_dedups_several_kinds_of_repeated_warnings_and_passes_the_rest() -> None:
    once = OncePerMessage("uncalibrated", "quality gate: ")
    logger = logging.getLogger("papertrader.test.logonce.many")
    passed = [
        once.filter(logger.makeRecord(logger.name, logging.WARNING, __file__, 1, text, (), None))
        for text in ("quality gate: lstm left out", "quality gate: lstm left out", "trend uncalibrated", "other")
    ]
    assert passed == [True, False, True, True]
