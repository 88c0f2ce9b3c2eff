"""Built-in priority rules: what a dispatcher reads as an emergency, urgent or planned.

Each rule is a regular expression over one clause of the corrected words (lower case, single
spaces). Rules tied to skills only count when the message is about one of them, or about
nothing known yet: "no heat" means a cold house for heating work, and a dryer that runs cold
otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEATING_FAILURE = "heating failure"  # P1 when it is cold, P2 otherwise
COOLING_FAILURE = "cooling failure"  # P2, P1 in dangerous heat or with vulnerable people
HOT_INSIDE = "hot inside"  # 80s or 90s indoors: a cooling failure in the warm months


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: re.Pattern[str]
    level: str  # P1..P4, "lower", or one of the failure kinds above
    reason: str
    skills: frozenset[str] | None = None
    whole: bool = False  # looks at the whole message, not one clause at a time


def _rule(
    pattern: str, level: str, reason: str, skills: str | None = None, *, whole: bool = False
) -> Rule:
    return Rule(
        re.compile(rf"\b(?:{pattern})\b"),
        level,
        reason,
        frozenset(skills.split()) if skills else None,
        whole,
    )


_HEAT = r"heat|heater|heating|furnace|calentador|heat pump"
_FAIL = (
    r"not working|isnt working|is not working|stopped working|quit working|not blowing warm|"
    r"blowing cold|is out|out|going out|died|dead|no prende|no funciona|not turning on|"
    r"wont (?:light|"
    r"ignite|turn on|start|kick on|come on|work|stay lit)|not (?:lighting|igniting|coming on)"
)
_COOL = r"ac|air|air conditioner|air conditioning|aire|rtu|rooftop unit|condenser|hvac|unit|system"
_COOL_FAIL = (
    r"not working|isnt working|is not working|stopped working|quit working|is out|out|died|"
    r"dead|not turning on|wont (?:turn on|start|kick on|come on|work|cool)|broke|broken"
)
_FOOD_COLD = r"fridge|refrigerator|freezer|nevera|refri|refrigerador|congelador"

GAS_SMELL = _rule(
    r"(?:smell|smells|smelled|smelling|odor|huele|olor)(?: \w+){0,4}? (?:of |like |a )?gas|"
    r"gas (?:smell|odor|leak|leaking)|leaking gas|gas is leaking",
    "P1",
    "gas smell",
)
GAS_SKILL = "plumbing"  # who is sent to a gas leak, whatever appliance it is next to

RULES: tuple[Rule, ...] = (
    # Emergencies, whatever the trade.
    GAS_SMELL,
    _rule(r"carbon monoxide|co (?:alarm|detector)", "P1", "carbon monoxide"),
    _rule(
        r"(?<!detector de )(?:smoke|smoking|humo)(?! (?:detector|detectors|alarm|alarms))",
        "P1",
        "smoke",
    ),
    _rule(r"sparking|sparks|chispas", "P1", "sparking"),
    _rule(
        r"(?:burning|burnt|burned|quemado)(?! dust)(?: \w+){0,2} (?:smell|odor)|"
        r"(?:smell|smells|smelling|huele|olor)(?: \w+){0,2}? (?:like |of |a )?"
        r"(?:burning|burnt|quemado)(?! dust)",
        "P1",
        "burning smell",
    ),
    _rule(r"on fire|caught fire|flames|fuego", "P1", "fire"),
    _rule(
        r"burst|bursting|busted pipe|flooding|flooded|flood(?! ?lights?)|water everywhere|"
        r"water all over|"
        r"pouring|gushing|spraying|shooting out|spewing|inundado|inundacion",
        "P1",
        "flooding",
    ),
    _rule(r"emergency|emergencia", "P1", "emergency"),
    _rule(r"(?:freezer|walk in|cooler)(?: \w+){0,5}? (?:is )?down", "P1", "down", "refrigeration"),
    # Heating and cooling that has stopped.
    _rule(
        rf"no heat|no heating|not heating|wont heat|wont turn on (?:the )?heat|"
        rf"(?:no|sin) (?:tiene )?calefaccion|(?:{_HEAT})(?: \w+){{0,3}}? (?:{_FAIL})",
        HEATING_FAILURE,
        "no heat",
        "hvac",
    ),
    _rule(  # "the heater runs but the air is cold": the two halves are in different clauses
        rf"^(?=.*\b(?:{_HEAT})\b).*?\b(?:cold air|air is cold|blowing cold|getting cold|"
        r"house is cold|cold in here|freezing in here)",
        HEATING_FAILURE,
        "no heat",
        "hvac",
        whole=True,
    ),
    _rule(
        rf"not cooling|no cooling|blowing (?:warm|hot)|no enfria|no ac|tenants hot|stuffy|"
        rf"(?:{_COOL})(?: \w+){{0,3}}? (?:{_COOL_FAIL})",
        COOLING_FAILURE,
        "not cooling",
        "hvac",
    ),
    _rule(r"frozen|iced over|iced up|ice on|bang|banging", "P2", "frozen or banging", "hvac"),
    _rule(
        r"(?:is|its|at|reading) (?:8\d|9\d)(?! ?(?:outside|out))", HOT_INSIDE, "hot inside", "hvac"
    ),
    # Urgent.
    _rule(r"urgent|asap|right away|right now|come now|immediately|urgente", "P2", "urgent"),
    _rule(
        r"leak|leaks|leaking|leeking|fuga|puddle|water on the (?:\w+ )?floor|overflowing|"
        r"overflowed",
        "P2",
        "leak",
    ),
    _rule(r"failed|failing", "P2", "failed"),
    _rule(
        r"(?:blew|blown|fell) (?:down|over|off)|storm damage|dogs? (?:can|could) get out|"
        r"(?:wont|cant|doesnt|will not) lock|"
        r"dogs? got out",
        "P2",
        "storm damage",
    ),
    _rule(
        r"(?:wont|cant|doesnt|unable to) (?:turn|shut)(?: \w+){0,2}? off",
        "P2",
        "will not turn off",
    ),
    _rule(
        r"full of water|water in (?:the )?(?:fixture|outlet|panel|box)", "P2", "wet", "electrical"
    ),
    _rule(  # water from above: a ceiling, a vent, a light fixture
        r"(?:water|dripping|leaking|leaks|coming)(?: \w+){0,4}? (?:from|through|out of|into)"
        r"(?: \w+){0,3}? (?:ceiling|vent|vents|light fixture)",
        "P2",
        "water from the ceiling",
    ),
    _rule(
        r"sewer(?: \w+){0,2}? backing up|backing up into (?:the )?(?:shower|tub|toilet|yard|house)",
        "P2",
        "sewer backing up",
    ),
    _rule(
        r"wont (?:re)?light|wont stay lit|pilot (?:light )?(?:is )?out",
        "P2",
        "no hot water",
        "plumbing",
    ),
    _rule(
        r"no hot water|lukewarm|no (?:hay )?agua caliente|no calienta",
        "P2",
        "no hot water",
        "plumbing",
    ),
    _rule(
        r"no power|power is out|power out|lights out|no electricity|no (?:tengo |hay )?"
        r"(?:electricidad|luz)|sin luz|se fue la luz|breaker wont reset|tripped",
        "P2",
        "no power",
        "electrical",
    ),
    _rule(
        r"hot to the touch|feels (?:warm|hot)|(?:is|are) (?:warm|hot)|buzzing|sparked|popped|"
        r"shocked|discolored|scorched|melted|lost power",
        "P2",
        "hot or buzzing",
        "electrical",
    ),
    _rule(
        r"stuck|halfway|half way|half open|wont (?:close|open|go down|go up)|no (?:abre|cierra)|"
        r"cant (?:get out|get in|secure)"
        r"|off (?:the )?track|spring (?:snapped|broke|broken)|broken spring|se rompio|bounces back"
        r"|reverses|snapped|cables? (?:broke|broken|came off)",
        "P2",
        "door stuck",
        "garage_door",
    ),
    _rule(
        r"not holding temp|rising|climbing|warm|reading \d+|\d+ degrees|alarming|"
        r"(?:not|isnt|wont) (?:keeping|staying|getting)(?: \w+){0,2}? cold|quit|died|down",
        "P2",
        "not holding temperature",
        "refrigeration",
    ),
    _rule(
        r"trouble signal|trouble mode|trouble|fault|supervisory|going off|went off|wont stop|"
        r"cant silence|alarming|strobe(?: \w+){0,4}? flashing|flashing|"
        r"panel(?: \w+){0,4}? beeping|beeping(?: \w+){0,4}? panel",
        "P2",
        "alarm trouble",
        "fire_safety",
    ),
    _rule(
        rf"(?:{_FOOD_COLD})(?: \w+){{0,8}}? (?:stopped working|not working|not cold|not cooling|"
        rf"no enfria|died|dead|warm|not freezing|quit|(?:not|isnt) keeping(?: \w+){0, 2}? cold)|"
        rf"melting|thawing|defrosting|echar a perder|spoil|spoiling",
        "P2",
        "food at risk",
        "appliance",
    ),
    # The customer says it can wait.
    _rule(
        r"no rush|not urgent|no hurry|whenever|when you get a chance|not a big deal|no big deal|"
        r"not an emergency|no emergency|anytime|any time|at your convenience|not in a hurry|"
        r"sin prisa|no es urgente",
        "lower",
        "can wait",
    ),
    # Planned work.
    _rule(
        r"maintenance|tune up|tuned up|(?<!\d )pm|preventive|inspection|inspections|inspected|"
        r"annual|yearly|checkup|quote|estimate|next week|next month|schedule|service|cleaning|"
        r"due(?! to)|overdue",
        "P4",
        "planned",
    ),
)

# After a hazard word these name a device, not the hazard: a chirping smoke alarm is no fire.
DEVICE_WORDS: frozenset[str] = frozenset({"detector", "detectors", "alarm", "alarms"})


def names_device(following: str | None) -> bool:
    return following in DEVICE_WORDS


NEGATORS: frozenset[str] = frozenset(
    {"no", "not", "isnt", "without", "never", "nothing", "wasnt", "dont", "doesnt", "sin", "nor"}
)

_DEGREES = re.compile(
    r"\b(\d{2,3}) ?(?:f|degrees|degree|deg|outside|out|inside|in here|in the house|in there)\b"
)
_COLD_WORDS = re.compile(r"\b(?:freezing|cold|frio|helando|frozen pipes)\b")
_VULNERABLE = re.compile(r"\b(?:newborn|baby|infant|elderly|oxygen|disabled|bedridden)\b")


def temperatures(text: str) -> list[int]:
    return [int(m.group(1)) for m in _DEGREES.finditer(text)]


def is_cold(text: str, month: int) -> bool:
    """Cold enough that no heat is an emergency: winter months, a low reading, or the words."""
    if month in (11, 12, 1, 2):
        return True
    if any(t < 55 for t in temperatures(text)):
        return True
    return _COLD_WORDS.search(text) is not None


def is_dangerous_heat(text: str) -> bool:
    return any(t >= 95 for t in temperatures(text)) or _VULNERABLE.search(text) is not None
