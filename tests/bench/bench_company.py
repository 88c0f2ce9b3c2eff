"""A bigger company for the load and memory benchmarks: the bundled demo company plus
generated customers (one home site each) and technicians, written as a company file.

Fixed seed, fictional data: phones in 512-3xx-xxxx, e-mails on example.com.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import yaml

DEMO = Path(__file__).resolve().parents[2] / "webhooks" / "demo" / "company.yaml"
SEED = 20261125
LAT, LON = (30.15, 30.50), (-97.90, -97.60)
STREETS = ("Oak", "Elm", "Cedar", "Lamar", "Guadalupe", "Burnet", "Manor", "Riverside")
ZIPS = ("78701", "78702", "78703", "78704", "78705", "78723", "78745", "78751", "78757")
# What a customer writes, per skill of the demo company: each matches that skill's keywords,
# none names an address (the customer's one site is the place) and none is an emergency.
PROBLEMS: dict[str, tuple[str, ...]] = {
    "hvac": (
        "the AC is blowing warm air and the house is at 84",
        "the furnace makes a loud banging noise when it starts",
        "the thermostat screen is blank, no heat or cooling",
        "the heat pump runs all day and the house is not cooling",
    ),
    "plumbing": (
        "the kitchen sink drain is clogged and backing up",
        "the water heater is leaking from the bottom",
        "the toilet keeps running all night",
        "a faucet in the guest bath is dripping nonstop",
    ),
    "electrical": (
        "the breaker keeps tripping when the microwave and kettle run",
        "lights flickering in the hallway every evening",
        "a light switch in the den does nothing now",
        "the gfci in the garage will not reset",
    ),
    "appliance": (
        "the dishwasher is not draining, standing water inside",
        "the washing machine wont spin at the end of the cycle",
        "the fridge is not keeping anything cold",
        "the oven takes an hour to heat up",
    ),
    "garage_door": (
        "the garage door opener hums but the door will not move",
        "the garage door is off track on one side",
        "a broken spring on the garage door, it slammed shut",
    ),
    "refrigeration": (
        "the walk in cooler is not holding temp, it reads 48",
        "the ice machine stopped making ice overnight",
        "the reach-in by the prep table is warm",
    ),
    "fire_safety": (
        "a smoke detector upstairs keeps chirping",
        "the fire extinguisher tags expired, need a fire inspection",
        "the backflow test is due this month",
    ),
    "general_handyman": (
        "there is a hole in the wall behind the door, needs drywall",
        "the back door is sticking and wont latch",
        "need a tv mount put up in the living room",
        "the fence gate is sagging and drags on the ground",
    ),
}
WHEN = ("", " since this morning", " since yesterday", " again this week", " for two days now")
NEW = ("another problem: ", "new problem, ", "separate issue: ", "different problem - ")
ISSUES = tuple(text for texts in PROBLEMS.values() for text in texts)


def customer_phone(i: int) -> str:
    return f"+1512{3000000 + i:07d}"


def customer_phones(count: int) -> list[str]:
    return [customer_phone(i) for i in range(count)]


def technician_phone(i: int) -> str:
    return f"+1512{4000000 + i:07d}"


def build(customers: int, technicians: int | None = None, seed: int = SEED) -> dict[str, Any]:
    """The demo company with `customers` more customers; with `technicians`, the demo crew
    is topped up to that many (clones of it, homes spread out)."""
    rng = random.Random(seed)
    data: dict[str, Any] = yaml.safe_load(DEMO.read_text())
    for i in range(customers):
        street = f"{rng.randint(100, 9999)} {rng.choice(STREETS)} St"
        data["customers"].append(
            {
                "id": f"G{i:05d}",
                "name": f"Customer {i:05d}",
                "phone": customer_phone(i),
                "email": f"customer{i}@example.com",
                "vip": False,
                "contract": "standard",
                "sites": [
                    {
                        "id": f"GS{i:05d}",
                        "name": "Home",
                        "address": f"{street}, Austin, TX {rng.choice(ZIPS)}",
                        "lat": round(rng.uniform(*LAT), 4),
                        "lon": round(rng.uniform(*LON), 4),
                    }
                ],
            }
        )
    if technicians is not None:
        crew = data["technicians"]
        made = list(crew)
        for i in range(technicians - len(crew)):
            tech = copy.deepcopy(crew[i % len(crew)])
            tech.update(
                id=f"X{i:03d}",
                name=f"Technician {i:03d}",
                phone=technician_phone(i),
                prefers="sms",
                home={"lat": round(rng.uniform(*LAT), 4), "lon": round(rng.uniform(*LON), 4)},
            )
            tech.pop("telegram", None)
            made.append(tech)
        data["technicians"] = made
    return data


def write(path: Path, customers: int, technicians: int | None = None) -> Path:
    path.write_text(yaml.safe_dump(build(customers, technicians), sort_keys=False))
    return path


def request_text(i: int) -> str:
    """The i-th text of the load: a problem of one of the skills, in rotation."""
    return f"{ISSUES[i % len(ISSUES)]} (ref {i})"


def new_problem_text(i: int) -> str:
    """The i-th text of a load where every message is a new job: it says so in words, so a
    customer's open work order does not swallow it as a follow-up, and the skills rotate."""
    skill = SKILLS[i % len(SKILLS)]
    problems = PROBLEMS[skill]
    problem = problems[(i // len(SKILLS)) % len(problems)]
    when = WHEN[(i // 7) % len(WHEN)]
    return f"{NEW[i % len(NEW)]}{problem}{when} (ref {i})"


SKILLS = tuple(PROBLEMS)
