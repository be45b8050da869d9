"""The advisor answer schema: exactly one strict JSON object, and its mapping onto board probabilities."""

from __future__ import annotations

import pytest

from papertrader.signals.advisors.schema import AdvisorAnswer, RejectedAnswerError, parse_answer


def test_a_valid_answer_is_parsed_with_surrounding_whitespace_only() -> None:
    answer = parse_answer('  {"direction": "down", "confidence": 0.6, "reason": "below both means"}\n')
    assert answer == AdvisorAnswer(direction="down", confidence=0.6, reason="below both means")
    assert parse_answer('{"direction": "flat", "confidence": 1, "reason": ""}').confidence == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I think it goes up.",
        '```json\n{"direction": "up", "confidence": 0.6, "reason": "x"}\n```',
        'Sure! {"direction": "up", "confidence": 0.6, "reason": "x"}',
        '{"direction": "up", "confidence": 0.6, "reason": "x"',
        '{"direction": "UP", "confidence": 0.6, "reason": "x"}',
        '{"direction": "sideways", "confidence": 0.6, "reason": "x"}',
        '{"direction": "up", "confidence": "0.6", "reason": "x"}',
        '{"direction": "up", "confidence": true, "reason": "x"}',
        '{"direction": "up", "confidence": 1.2, "reason": "x"}',
        '{"direction": "up", "confidence": -0.1, "reason": "x"}',
        '{"direction": "up", "confidence": NaN, "reason": "x"}',
        '{"direction": "up", "confidence": 0.6}',
        '{"direction": "up", "confidence": 0.6, "reason": "x", "ticker": "AAPL"}',
        '{"direction": "up", "confidence": 0.6, "reason": "' + "x" * 121 + '"}',
        '[{"direction": "up", "confidence": 0.6, "reason": "x"}]',
    ],
)
def test_anything_but_the_exact_object_is_rejected_never_repaired(text: str) -> None:
    with pytest.raises(RejectedAnswerError):
        parse_answer(text)


def test_a_rejection_message_never_echoes_the_answer_text() -> None:
    with pytest.raises(RejectedAnswerError) as caught:
        parse_answer('{"direction": "SECRETWORD", "confidence": 0.6, "reason": "x"}')
    assert "SECRETWORD" not in str(caught.value)


@pytest.mark.parametrize("direction", ["up", "down", "flat"])
@pytest.mark.parametrize("confidence", [0.0, 0.25, 0.5, 0.9, 1.0])
def test_probabilities_follow_the_documented_mapping_and_never_exceed_one(direction: str, confidence: float) -> None:
    p_up, p_down = AdvisorAnswer(direction=direction, confidence=confidence, reason="").probabilities()  # type: ignore[arg-type]
    named, other = (1 + 2 * confidence) / 3, (1 - confidence) / 3
    expected = {"up": (named, other), "down": (other, named), "flat": (other, other)}[direction]
    assert (p_up, p_down) == pytest.approx(expected)
    assert 0.0 <= p_up + p_down <= 1.0 + 1e-12


def test_zero_confidence_carries_no_information() -> None:
    for direction in ("up", "down", "flat"):
        p_up, p_down = AdvisorAnswer(direction=direction, confidence=0.0, reason="").probabilities()
        assert p_up == pytest.approx(1 / 3) and p_down == pytest.approx(1 / 3)
