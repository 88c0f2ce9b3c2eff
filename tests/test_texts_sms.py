"""Every message template fits two GSM-7 SMS segments for realistic (long) values."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from bot import texts
from bot.delivery.render import is_gsm7, sms_segments

# Realistic long values for each parameter name used by the templates.
VALUES: dict[str, Any] = {
    "number": "WO-10427",
    "company": "Ridgeback Home & Commercial Services",
    "contact": "+15125550190",
    "kind": "address",
    "skill": "Fire sprinkler & alarm inspection",
    "place": "11111 Research Blvd",
    "priority": "Emergency",
    "emergency": True,
    "status": "waiting for details from you",
    "role": "customer",
    "name": "Maria Guadalupe Lopez-Hernandez",
    "tech": "Maria Guadalupe Lopez-Hernandez",
    "description": "Walk-in freezer reading 45 degrees, food at risk, compressor making noise",
    "why": "no answer in time",
    "when": "10:45",
    "reason": "no_feasible_technician: the site has no coordinates",
    "suggestions": "T01 Maria Lopez, T11 Sofia Alvarez, T04 Tuan Nguyen",
    "start": "13:30",
    "end": "14:45",
    "lat": 30.26721,
    "lon": -97.73961,
    "seq": 10427,
    "eta": "10:45",
    "note": "Replaced the dual run capacitor and cleaned the condenser coil, unit cooling again",
    "parts": "2x Dual run capacitor 45/5 uF, 1x Contactor 2-pole 30A 24V coil",
    "minutes": 135,
    "code": "4821",
    "words": "still leaking under the sink, water on the floor again this morning",
    "invoice": "INV-2026-0107",
    "total": "1,234.56 USD",
}
TEMPLATES = [
    (name, fn)
    for name, fn in inspect.getmembers(texts, inspect.isfunction)
    if fn.__module__ == texts.__name__
]


def render(fn: Any) -> str:
    params = inspect.signature(fn).parameters
    missing = [p for p in params if p not in VALUES]
    assert not missing, f"{fn.__name__}: add realistic values for {missing}"
    result: str = fn(**{p: VALUES[p] for p in params})
    return result


@pytest.mark.parametrize(("name", "fn"), TEMPLATES, ids=[n for n, _ in TEMPLATES])
def test_template_fits_two_gsm7_segments(name: str, fn: Any) -> None:
    text = render(fn)
    assert is_gsm7(text), f"{name} uses characters outside GSM-7: {text!r}"
    assert sms_segments(text) <= 2, f"{name} is {len(text)} characters: {text!r}"


def test_every_question_and_staff_help_fits() -> None:
    for text in [*texts.QUESTIONS.values(), *texts.STAFF_HELP.values()]:
        assert is_gsm7(text)
        assert sms_segments(text) <= 2, text


def test_the_templates_are_all_checked() -> None:
    assert len(TEMPLATES) > 30
