"""The scenario file (simulation.md): read and checked whole before anything runs, every
problem named by the path of its field (`requests[3].at: expected HH:MM`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

import yaml

from storage.phones import normalize_phone

CHANNELS = ("sms", "telegram", "portal")
EVENT_KINDS = ("sick", "running_late")
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class ScenarioError(Exception):
    """The scenario is invalid; `problems` holds every `path: message` found."""

    def __init__(self, problems: list[str], source: str) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class TechBehaviour:
    accept_probability: float = 0.9
    reply_minutes: tuple[float, float] = (1.0, 6.0)
    speed_kmh: float = 40.0
    overrun_probability: float = 0.15


@dataclass(frozen=True, slots=True)
class Request:
    at: time
    channel: str
    sender: str  # as written: phone, Telegram username or email
    text: str
    answers: tuple[str, ...]
    true_minutes: int


@dataclass(frozen=True, slots=True)
class TechEvent:
    at: time
    technician: str
    kind: str
    minutes: int = 0
    note: str = ""


@dataclass(frozen=True, slots=True)
class Scenario:
    path: Path
    company_path: Path
    day: date
    seed: int
    technicians: TechBehaviour
    confirm_probability: float
    requests: tuple[Request, ...]
    events: tuple[TechEvent, ...]


class _Check:
    """Collects problems instead of stopping at the first one."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def bad(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def mapping(self, value: object, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.bad(path, "expected a mapping")
            return {}
        return {str(k): v for k, v in value.items()}

    def unknown(self, data: dict[str, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.bad(f"{path}.{key}" if path else key, "unknown field")

    def hhmm(self, value: object, path: str) -> time:
        match = HHMM.match(value) if isinstance(value, str) else None
        if match is None:
            self.bad(path, "expected HH:MM")
            return time(0, 0)
        return time(int(match[1]), int(match[2]))

    def probability(self, value: object, path: str, default: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            self.bad(path, "expected a probability between 0 and 1")
            return default
        return float(value)

    def positive(self, value: object, path: str, *, whole: bool = False) -> float:
        kinds = int if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
            self.bad(path, "expected a positive whole number" if whole else "expected a number > 0")
            return 1.0
        return float(value)

    def text(self, value: object, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.bad(path, "expected non-empty text")
            return ""
        return value


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError([f"file: cannot read ({err})"], str(path)) from err
    except yaml.YAMLError as err:
        raise ScenarioError([f"file: not valid YAML ({err})"], str(path)) from err
    return parse_scenario(data, path)


def parse_scenario(data: object, path: Path) -> Scenario:
    c = _Check()
    top = c.mapping(data, "scenario")
    c.unknown(
        top,
        ("company", "date", "seed", "technicians", "customers", "requests", "events"),
        "",
    )
    company = top.get("company")
    company_path = path.parent / (company if isinstance(company, str) else "")
    if not isinstance(company, str) or not company:
        c.bad("company", "expected the path of a company file")
    elif not company_path.is_file():
        c.bad("company", f"no such file {company_path}")
    day = _day(c, top.get("date"))
    seed = top.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        c.bad("seed", "expected a whole number")
        seed = 0
    techs = _techs(c, top.get("technicians", {}))
    customers = c.mapping(top.get("customers", {}), "customers")
    c.unknown(customers, ("confirm_probability",), "customers")
    confirm = c.probability(
        customers.get("confirm_probability"), "customers.confirm_probability", 0.95
    )
    requests = _requests(c, top.get("requests"))
    events = _events(c, top.get("events", []))
    if c.problems:
        raise ScenarioError(c.problems, str(path))
    return Scenario(path, company_path, day, seed, techs, confirm, requests, events)


def _day(c: _Check, value: object) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    c.bad("date", "expected YYYY-MM-DD")
    return date(2000, 1, 1)


def _techs(c: _Check, value: object) -> TechBehaviour:
    t = c.mapping(value, "technicians")
    c.unknown(
        t,
        ("accept_probability", "reply_minutes", "speed_kmh", "overrun_probability"),
        "technicians",
    )
    reply = t.get("reply_minutes", [1, 6])
    low, high = 1.0, 6.0
    if (
        not isinstance(reply, list)
        or len(reply) != 2
        or any(isinstance(x, bool) or not isinstance(x, int | float) for x in reply)
        or not 0 <= reply[0] <= reply[1]
    ):
        c.bad("technicians.reply_minutes", "expected [low, high] minutes")
    else:
        low, high = float(reply[0]), float(reply[1])
    speed = t.get("speed_kmh", 40)
    return TechBehaviour(
        accept_probability=c.probability(
            t.get("accept_probability"), "technicians.accept_probability", 0.9
        ),
        reply_minutes=(low, high),
        speed_kmh=c.positive(speed, "technicians.speed_kmh"),
        overrun_probability=c.probability(
            t.get("overrun_probability"), "technicians.overrun_probability", 0.15
        ),
    )


def _requests(c: _Check, value: object) -> tuple[Request, ...]:
    if not isinstance(value, list) or not value:
        c.bad("requests", "expected a list of requests")
        return ()
    out: list[Request] = []
    for i, item in enumerate(value):
        p = f"requests[{i}]"
        r = c.mapping(item, p)
        if not r:
            continue
        c.unknown(r, ("at", "channel", "from", "text", "answers", "true_minutes"), p)
        at = c.hhmm(r.get("at"), f"{p}.at")
        if out and at < out[-1].at:
            c.bad(f"{p}.at", f"before the previous request ({out[-1].at:%H:%M})")
        channel = r.get("channel")
        if channel not in CHANNELS:
            c.bad(f"{p}.channel", f"expected one of {', '.join(CHANNELS)}")
        sender = c.text(r.get("from"), f"{p}.from")
        if channel == "sms" and sender and normalize_phone(sender) is None:
            c.bad(f"{p}.from", "expected a phone number")
        if channel == "portal" and sender and "@" not in sender:
            c.bad(f"{p}.from", "expected an email address")
        answers = r.get("answers", [])
        if not isinstance(answers, list) or any(not isinstance(a, str) for a in answers):
            c.bad(f"{p}.answers", "expected a list of texts")
            answers = []
        minutes = c.positive(r.get("true_minutes"), f"{p}.true_minutes", whole=True)
        text = c.text(r.get("text"), f"{p}.text")
        out.append(Request(at, str(channel), sender, text, tuple(answers), int(minutes)))
    return tuple(out)


def _events(c: _Check, value: object) -> tuple[TechEvent, ...]:
    if not isinstance(value, list):
        c.bad("events", "expected a list")
        return ()
    out: list[TechEvent] = []
    for i, item in enumerate(value):
        p = f"events[{i}]"
        e = c.mapping(item, p)
        if not e:
            continue
        c.unknown(e, ("at", "technician", "kind", "minutes", "note"), p)
        at = c.hhmm(e.get("at"), f"{p}.at")
        tech = c.text(e.get("technician"), f"{p}.technician")
        kind = e.get("kind")
        if kind not in EVENT_KINDS:
            c.bad(f"{p}.kind", f"expected one of {', '.join(EVENT_KINDS)}")
        minutes = 0
        if kind == "running_late":
            minutes = int(c.positive(e.get("minutes"), f"{p}.minutes", whole=True))
        note = e.get("note", "")
        if not isinstance(note, str):
            c.bad(f"{p}.note", "expected text")
            note = ""
        out.append(TechEvent(at, tech, str(kind), minutes, note))
    return tuple(out)


def check_against_company(scenario: Scenario, technician_ids: set[str]) -> None:
    """References into the company file, checked once it is loaded."""
    problems = [
        f"events[{i}].technician: unknown technician {e.technician}"
        for i, e in enumerate(scenario.events)
        if e.technician not in technician_ids
    ]
    if problems:
        raise ScenarioError(problems, str(scenario.path))
