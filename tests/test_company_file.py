"""The company-file loader: the bundled demo loads, and every broken file names the bad key path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dispatch.company import GeoPoint, Requirements
from storage.company_file import CompanyFileError, LoadResult, load_company_file, parse_company

DEMO = Path(__file__).resolve().parents[1] / "webhooks" / "demo" / "company.yaml"

Data = dict[str, Any]


def valid_company() -> Data:
    return {
        "company": {
            "name": "Test Services",
            "timezone": "America/Chicago",
            "labor_rate": 95.0,
            "tax_rate": 0.0825,
            "business_hours": "07:00-18:00",
            "depot": {"address": "9100 Burnet Rd, Austin, TX 78758", "lat": 30.37, "lon": -97.72},
        },
        "skills": [
            {"id": "hvac", "name": "Heating & cooling", "keywords": ["ac"], "duration_minutes": 75},
            {"id": "plumbing", "name": "Plumbing", "keywords": ["leak"]},
        ],
        "certifications": [{"id": "epa608", "name": "EPA 608"}],
        "tools": [{"id": "ladder_28ft", "name": "Ladder"}],
        "parts": [{"sku": "CAP-455", "name": "Capacitor", "price": 38.1}],
        "territories": [{"id": "central", "name": "Central", "zips": ["78701", "78704"]}],
        "priorities": {
            "P1": {"name": "Emergency", "keywords": ["flooding"]},
            "P3": {"name": "Std"},
        },
        "contracts": [
            {"id": "gold", "name": "Gold", "response_hours": {"P1": 2, "P2": 4, "P3": 24, "P4": 72}}
        ],
        "auto_assign": {"priorities": ["P2", "P3"], "skills": "all", "exclude_vip": True},
        "technicians": [
            {
                "id": "T01",
                "name": "Maria Lopez",
                "phone": "(512) 555-0101",
                "telegram": "@maria_fixes",
                "prefers": "telegram",
                "skills": {"hvac": 3, "plumbing": 1},
                "certifications": [{"id": "epa608", "expires": "2027-06-30"}],
                "tools": ["ladder_28ft"],
                "van_stock": {"CAP-455": 4},
                "territories": ["central"],
                "home": {"lat": 30.3, "lon": -97.7},
                "shifts": {"mon": "07:00-16:00", "fri": "07:00-15:00"},
                "leave": [{"from": "2026-12-24", "to": "2026-12-28", "reason": "holiday"}],
                "max_jobs_per_day": 8,
            },
            {
                "id": "T02",
                "name": "Derek Olsen",
                "phone": "512-555-0102",
                "skills": {"plumbing": 3},
            },
        ],
        "dispatchers": [{"id": "D01", "name": "Dana Whitfield", "phone": "(512) 555-0190"}],
        "customers": [
            {
                "id": "C001",
                "name": "Harbor View",
                "phone": "(512) 555-0140",
                "vip": True,
                "contract": "gold",
                "preferred_technicians": ["T01"],
                "sites": [
                    {
                        "id": "S001",
                        "address": "1200 Barton Springs Rd, Austin, TX 78704",
                        "lat": 30.26,
                        "lon": -97.76,
                        "access_window": "08:00-17:00",
                        "equipment": [
                            {
                                "id": "E001",
                                "type": "rooftop unit",
                                "skill": "hvac",
                                "installed": "2018-05-01",
                                "pm_interval_days": 90,
                                "last_pm": "2026-08-20",
                                "requires": {"tools": ["ladder_28ft"]},
                            }
                        ],
                    }
                ],
            },
            {
                "id": "C002",
                "name": "Tom Becker",
                "sites": [{"id": "S002", "address": "4411 Avenue G, Austin, TX 78751"}],
            },
        ],
    }


def error_of(data: object) -> CompanyFileError:
    with pytest.raises(CompanyFileError) as caught:
        parse_company(data)
    return caught.value


def load(data: Data) -> LoadResult:
    return parse_company(data)


def test_demo_company_loads_with_its_people_sites_and_geocoded_sites() -> None:
    result = load_company_file(DEMO)
    company = result.company
    sites = [site for customer in company.customers for site in customer.sites]
    assert len(company.technicians) == 12
    assert len(company.dispatchers) == 2
    assert len(company.customers) == 30
    assert len(sites) == 45
    assert sum(len(site.equipment) for site in sites) == 40
    assert set(result.geocoded_sites) == {"S023", "S043"}
    assert all(site.geocoded_from_zip == (site.id in {"S023", "S043"}) for site in sites)


def test_demo_company_hvac_needs_epa608_and_rooftop_units_need_the_ladder() -> None:
    company = load_company_file(DEMO).company
    hvac = company.skill("hvac")
    assert hvac is not None
    assert hvac.requires.certifications == ("epa608",)
    whitaker = next(t for t in company.technicians if t.id == "T07")
    epa = next(g for g in whitaker.certifications if g.id == "epa608")
    assert not epa.valid_on(date(2026, 11, 30))
    rooftop = [
        e
        for c in company.customers
        for s in c.sites
        for e in s.equipment
        if e.type.startswith("rooftop unit")
    ]
    assert rooftop
    assert all(e.requires == Requirements(tools=("ladder_28ft",)) for e in rooftop)


def test_small_valid_company_loads() -> None:
    result = load(valid_company())
    assert [t.id for t in result.company.technicians] == ["T01", "T02"]
    assert result.company.parts[0].price == Decimal("38.1")
    assert result.company.technicians[0].telegram == "maria_fixes"


Break = Callable[[Data], None]


def _set(path: tuple[Any, ...], value: Any) -> Break:
    def apply(data: Data) -> None:
        node: Any = data
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value

    return apply


def _delete(path: tuple[Any, ...]) -> Break:
    def apply(data: Data) -> None:
        node: Any = data
        for step in path[:-1]:
            node = node[step]
        del node[path[-1]]

    return apply


T0 = ("technicians", 0)
SITE0 = ("customers", 0, "sites", 0)
EQ0 = (*SITE0, "equipment", 0)

BAD_FILES = [
    pytest.param(_set((*T0, "skils"), {"hvac": 2}), "technicians[0].skils", id="unknown-key"),
    pytest.param(
        _set((*T0, "skills", "plumbin"), 2), "technicians[0].skills.plumbin", id="dangling-skill"
    ),
    pytest.param(
        _set((*T0, "territories"), ["central", "nowhere"]),
        "technicians[0].territories[1]",
        id="dangling-territory",
    ),
    pytest.param(
        _set((*T0, "van_stock", "XX-1"), 1), "technicians[0].van_stock.XX-1", id="dangling-part-sku"
    ),
    pytest.param(
        _set(("technicians", 1, "phone"), "12345"), "technicians[1].phone", id="bad-phone-digits"
    ),
    pytest.param(
        _set(("technicians", 1, "phone"), "call me"), "technicians[1].phone", id="bad-phone-text"
    ),
    pytest.param(
        _set((*T0, "shifts", "mon"), "7am-4pm"), "technicians[0].shifts.mon", id="bad-shift-format"
    ),
    pytest.param(
        _set((*T0, "shifts", "fri"), "16:00-07:00"),
        "technicians[0].shifts.fri",
        id="shift-end-before-start",
    ),
    pytest.param(
        _set(("technicians", 1, "id"), "T01"), "technicians[1].id", id="duplicate-technician-id"
    ),
    pytest.param(
        _set(("customers", 1, "sites", 0, "id"), "S001"),
        "customers[1].sites[0].id",
        id="duplicate-site-across-customers",
    ),
    pytest.param(_set((*SITE0, "lat"), 95.0), "customers[0].sites[0].lat", id="lat-out-of-range"),
    pytest.param(_set((*SITE0, "lon"), -200.0), "customers[0].sites[0].lon", id="lon-out-of-range"),
    pytest.param(_delete((*SITE0, "lon")), "customers[0].sites[0].lon", id="lat-without-lon"),
    pytest.param(
        _set((*T0, "leave", 0, "to"), "2026-12-01"),
        "technicians[0].leave[0]",
        id="leave-from-after-to",
    ),
    pytest.param(
        _set((*T0, "skills", "hvac"), 4), "technicians[0].skills.hvac", id="skill-level-4"
    ),
    pytest.param(
        _set(("priorities", "P5"), {"name": "Later"}), "priorities.P5", id="unknown-priority-P5"
    ),
    pytest.param(
        _set(("company", "timezone"), "Mars/Olympus_Mons"), "company.timezone", id="bad-timezone"
    ),
    pytest.param(
        _set((*EQ0, "installed"), "2026-13-01"),
        "customers[0].sites[0].equipment[0].installed",
        id="bad-date",
    ),
    pytest.param(
        _set((*T0, "shifts", "monday"), "07:00-16:00"),
        "technicians[0].shifts.monday",
        id="unknown-weekday",
    ),
    pytest.param(_delete((*T0, "name")), "technicians[0].name", id="missing-required-key"),
    pytest.param(
        _set(("contracts", 0, "response_hours", "P2"), 0),
        "contracts[0].response_hours.P2",
        id="response-hours-not-positive",
    ),
    pytest.param(
        _set(("company", "business_hours"), "7-18"),
        "company.business_hours",
        id="bad-business-hours",
    ),
    pytest.param(_set(("company", "tax_rate"), 1), "company.tax_rate", id="tax-rate-one"),
    pytest.param(_set(("parts", 0, "price"), -1), "parts[0].price", id="negative-price"),
    pytest.param(
        _set(("customers", 0, "contract"), "platinum"),
        "customers[0].contract",
        id="dangling-contract",
    ),
    pytest.param(
        _set(("customers", 0, "excluded_technicians"), ["T09"]),
        "customers[0].excluded_technicians[0]",
        id="dangling-technician",
    ),
    pytest.param(
        _set((*T0, "certifications", 0, "id"), "epa609"),
        "technicians[0].certifications[0].id",
        id="dangling-certification",
    ),
    pytest.param(
        _set((*EQ0, "requires", "tools"), ["crane"]),
        "customers[0].sites[0].equipment[0].requires.tools[0]",
        id="dangling-required-tool",
    ),
    pytest.param(
        _set(("auto_assign", "skills"), ["hvac", "roofing"]),
        "auto_assign.skills[1]",
        id="dangling-auto-assign-skill",
    ),
    pytest.param(_set((*T0, "prefers"), "email"), "technicians[0].prefers", id="bad-prefers"),
    pytest.param(_set((*T0, "telegram"), "ab"), "technicians[0].telegram", id="short-telegram"),
    pytest.param(
        _set(("assignment",), {"weights": {"speed": 1}}),
        "assignment.weights.speed",
        id="unknown-weight",
    ),
    pytest.param(
        _set(("assignment",), {"detour_factor": 0.5}),
        "assignment.detour_factor",
        id="detour-below-one",
    ),
    pytest.param(
        _set(("company", "pm_lookahead_days"), -1),
        "company.pm_lookahead_days",
        id="negative-lookahead",
    ),
    pytest.param(
        _set(("customers", 1, "sites", 0, "address"), "4411 Avenue G, Austin"),
        "customers[1].sites[0]",
        id="no-coordinates-no-zip",
    ),
    pytest.param(
        _set(("customers", 1, "sites", 0, "address"), "1 Main St, Nowhere 00000"),
        "customers[1].sites[0]",
        id="unknown-zip",
    ),
    pytest.param(
        _set(("dispatchers", 0, "phone"), "(512) 555-0101"),
        "dispatchers[0].phone",
        id="dispatcher-shares-phone-of-other-person",
    ),
]


@pytest.mark.parametrize(("break_it", "path"), BAD_FILES)
def test_broken_company_file_names_the_key_path(break_it: Break, path: str) -> None:
    data = valid_company()
    break_it(data)
    error = error_of(data)
    assert f"{path}: " in str(error)
    assert any(problem.path == path for problem in error.problems)


def test_unknown_key_message_says_unknown_key() -> None:
    data = valid_company()
    data["technicians"][0]["skils"] = {"hvac": 2}
    assert "technicians[0].skils: unknown key" in str(error_of(data)).splitlines()[0]


def test_all_problems_are_reported_at_once() -> None:
    data = valid_company()
    data["technicians"][0]["skils"] = {}
    data["technicians"][1]["phone"] = "call me"
    data["customers"][0]["sites"][0]["lat"] = 123
    data["priorities"]["P5"] = {"name": "Never"}
    lines = str(error_of(data)).splitlines()
    for path in (
        "technicians[0].skils",
        "technicians[1].phone",
        "customers[0].sites[0].lat",
        "priorities.P5",
    ):
        assert any(line.startswith(f"{path}: ") for line in lines)
    assert len(lines) == 4


def test_top_level_list_is_rejected() -> None:
    error = error_of([valid_company()])
    assert "(top level): expected a mapping of sections" in str(error)


def test_yaml_syntax_error_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "company.yaml"
    path.write_text("company:\n  name: X\n  timezone: [America/Chicago\ntechnicians: []\n")
    with pytest.raises(CompanyFileError) as caught:
        load_company_file(path)
    assert "line 4" in str(caught.value)
    assert "YAML syntax error" in str(caught.value)


def test_top_level_list_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "company.yaml"
    path.write_text("- company: {name: X, timezone: UTC}\n")
    with pytest.raises(CompanyFileError, match=r"expected a mapping of sections"):
        load_company_file(path)


def test_unquoted_impossible_date_in_yaml_is_reported_at_its_path(tmp_path: Path) -> None:
    path = tmp_path / "company.yaml"
    path.write_text(
        "company: {name: X, timezone: UTC}\n"
        "technicians:\n"
        "  - {id: T1, name: A, phone: '+15125550101',\n"
        "     leave: [{from: 2026-13-01, to: 2026-12-02}]}\n"
    )
    with pytest.raises(CompanyFileError) as caught:
        load_company_file(path)
    assert "technicians[0].leave[0].from: expected a date YYYY-MM-DD" in str(caught.value)


def test_repeated_yaml_key_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "company.yaml"
    path.write_text("company: {name: X, timezone: UTC}\ncompany: {name: Y, timezone: UTC}\n")
    with pytest.raises(CompanyFileError, match=r"line 2: key 'company' appears twice"):
        load_company_file(path)


def test_phone_numbers_are_stored_in_e164() -> None:
    data = valid_company()
    data["dispatchers"][0]["phone"] = "+1 512.555.0190"
    company = load(data).company
    assert company.technicians[0].phone == "+15125550101"
    assert company.technicians[1].phone == "+15125550102"
    assert company.dispatchers[0].phone == "+15125550190"
    assert company.customers[0].phone == "+15125550140"


def test_technician_who_also_dispatches_may_share_the_phone() -> None:
    data = valid_company()
    data["dispatchers"].append({"id": "D02", "name": "Maria  Lopez", "phone": "512 555 0101"})
    assert len(load(data).company.dispatchers) == 2


def test_site_without_coordinates_is_placed_at_its_zip_centroid() -> None:
    result = load(valid_company())
    placed = result.company.customers[1].sites[0]
    assert result.geocoded_sites == ("S002",)
    assert placed.zip == "78751"
    assert placed.geocoded_from_zip
    assert placed.location is not None
    assert abs(placed.location.lat - 30.31) < 0.05
    assert abs(placed.location.lon - -97.72) < 0.05
    given = result.company.customers[0].sites[0]
    assert given.location == GeoPoint(30.26, -97.76)
    assert not given.geocoded_from_zip
    assert given.zip == "78704"


def test_zip_plus_four_and_street_numbers_do_not_confuse_the_zip() -> None:
    data = valid_company()
    data["customers"][1]["sites"][0]["address"] = "12100 Jollyville Rd, Austin, TX 78759-1234"
    assert load(data).company.customers[1].sites[0].zip == "78759"


def test_depot_without_coordinates_is_placed_at_its_zip_centroid() -> None:
    data = valid_company()
    data["company"]["depot"] = {"address": "9100 Burnet Rd, Austin, TX 78758"}
    result = load(data)
    depot = result.company.settings.depot
    assert depot is not None
    assert depot.location is not None
    assert abs(depot.location.lat - 30.38) < 0.05
    assert any(w.startswith("company.depot:") for w in result.warnings)


def test_optional_keys_added_by_the_product_are_read() -> None:
    data = valid_company()
    data["company"]["pm_lookahead_days"] = 21
    data["company"]["lone_worker_minutes"] = 45
    data["skills"][0]["requires"] = {"certifications": ["epa608"], "min_level": 2}
    data["auto_assign"]["skills"] = ["plumbing"]
    data["assignment"] = {"weights": {"drive_time": 2}, "detour_factor": 1.4, "speed_kmh": 35}
    company = load(data).company
    assert company.settings.pm_lookahead_days == 21
    assert company.settings.lone_worker_minutes == 45
    assert company.skills[0].requires == Requirements(certifications=("epa608",), min_level=2)
    assert company.auto_assign.skills == ("plumbing",)
    assert company.assignment.weights["drive_time"] == 2
    assert company.assignment.weights["balance"] == 0.5
    assert company.assignment.detour_factor == 1.4


def test_missing_optional_keys_take_their_defaults() -> None:
    company = load(valid_company()).company
    assert company.settings.pm_lookahead_days == 14
    assert company.settings.lone_worker_minutes == 60
    assert company.auto_assign.skills is None
    assert [p.name for p in company.priorities] == ["Emergency", "Urgent", "Std", "Planned"]
    assert company.technicians[1].prefers == "sms"


def test_original_data_is_not_modified() -> None:
    data = valid_company()
    before = copy.deepcopy(data)
    load(data)
    assert data == before


def test_yaml_anchors_and_merge_keys_are_allowed(tmp_path: Path) -> None:
    path = tmp_path / "company.yaml"
    path.write_text(
        "company: {name: X, timezone: UTC}\n"
        "technicians:\n"
        "  - &base {id: T1, name: A, phone: '+15125550101', shifts: {mon: '08:00-17:00'}}\n"
        "  - {<<: *base, id: T2, name: B, phone: '+15125550102'}\n"
    )
    company = load_company_file(path).company
    assert [t.id for t in company.technicians] == ["T1", "T2"]
    assert "mon" in company.technicians[1].shifts


def test_customer_sharing_a_staff_phone_is_a_warning() -> None:
    data = valid_company()
    data["customers"][1]["phone"] = "(512) 555-0102"
    result = load(data)
    assert any(w.startswith("customers[1].phone:") for w in result.warnings)
