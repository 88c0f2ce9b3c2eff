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
ISSUES = (
    "AC is blowing warm air and the house is at 84",
    "kitchen sink drain is clogged and backing up",
    "breaker keeps tripping when the dryer runs",
    "garage door opener hums but the door will not move",
    "water heater is leaking from the bottom",
    "furnace makes a loud banging noise when it starts",
    "outlet in the bathroom sparked and now nothing works",
    "dishwasher is not draining, standing water inside",
    "toilet keeps running all night",
    "thermostat screen is blank, no heat or cooling",
)


def customer_phone(i: int) -> str:
    return f"+1512{3000000 + i:07d}"


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
    return f"{ISSUES[i % len(ISSUES)]} (ref {i})"
