"""Intake: what a customer's text message is understood to say (product.md §4)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.intake import IntakeModel, Understanding, extract_name, parse_message, parse_reply
from bot.intake.batch import CustomerDirectory, parse_jsonl
from dispatch.company import (
    Company,
    CompanySettings,
    Customer,
    Equipment,
    GeoPoint,
    PriorityLevel,
    Site,
    Skill,
    TimeRange,
)

TZ = ZoneInfo("America/Chicago")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=TZ)  # a Monday in a cold month
JULY = datetime(2026, 7, 14, 9, 0, tzinfo=TZ)
APRIL = datetime(2026, 4, 14, 9, 0, tzinfo=TZ)


def _skill(skill_id: str, name: str, keywords: str) -> Skill:
    return Skill(skill_id, name, tuple(k.strip() for k in keywords.split(",")))


SKILLS = (
    _skill(
        "hvac",
        "Heating & cooling",
        "ac, a/c, air conditioner, furnace, heater, heat pump, "
        "thermostat, no heat, blowing warm, not cooling, rooftop unit, rtu",
    ),
    _skill(
        "plumbing",
        "Plumbing",
        "leak, leaking, leeking, pipe, burst pipe, drain, clogged, "
        "toilet, water heater, no hot water, faucet, sewer, backed up, gas line",
    ),
    _skill(
        "electrical",
        "Electrical",
        "breaker, tripped, outlet, no power, lights flickering, "
        "sparking, panel, gfci, wiring, burning smell, electrician",
    ),
    _skill(
        "appliance",
        "Appliance repair",
        "washer, dryer, dishwasher, fridge, refrigerator, "
        "oven, stove, microwave, ice maker, garbage disposal",
    ),
    _skill(
        "garage_door",
        "Garage & overhead doors",
        "garage door, garage, opener, wont close, broken spring, off track, roll up door",
    ),
    _skill(
        "refrigeration",
        "Commercial refrigeration",
        "walk-in, walk in cooler, ice machine, freezer down, not holding temp, cooler",
    ),
    _skill(
        "fire_safety",
        "Fire sprinkler & alarm inspection",
        "sprinkler, fire alarm, alarm panel, smoke detector, chirping, backflow, trouble signal",
    ),
    _skill(
        "general_handyman",
        "General handyman",
        "handyman, drywall, fence, gate, shelves, tv mount, blinds, cabinet, tile",
    ),
)
PRIORITIES = (
    PriorityLevel(
        "P1",
        "Emergency",
        ("gas smell", "burst", "flooding", "sparking", "smoke", "no heat", "freezer down"),
    ),
    PriorityLevel(
        "P2",
        "Urgent",
        ("not cooling", "no hot water", "leaking", "tripped", "asap", "today", "urgent"),
    ),
    PriorityLevel("P3", "Standard", ("no rush", "whenever")),
    PriorityLevel("P4", "Planned", ("maintenance", "tune up", "next week", "annual")),
)
HARBOR = Customer(
    "C1",
    "Harbor View Apartments",
    phone="+15125550140",
    email="facilities@harborview.example",
    sites=(
        Site(
            "S1",
            "1200 Barton Springs Rd, Austin, TX 78704",
            name="Building A",
            zip="78704",
            location=GeoPoint(30.2622, -97.76),
            equipment=(
                Equipment("E1", "rooftop unit 1", skill="hvac", make="Carrier"),
                Equipment("E2", "rooftop unit 2", skill="hvac", make="Carrier"),
            ),
        ),
        Site(
            "S2",
            "6800 Manchaca Rd, Austin, TX 78745",
            name="Manchaca store",
            zip="78745",
            location=GeoPoint(30.2043, -97.8032),
            equipment=(Equipment("E3", "kitchen walk-in cooler", skill="refrigeration"),),
        ),
        Site(
            "S3",
            "4507 Avenue H, Austin, TX 78751",
            name="4507 Avenue H (rental)",
            zip="78751",
            location=GeoPoint(30.3112, -97.7232),
            equipment=(Equipment("E4", "gas furnace", skill="hvac"),),
        ),
    ),
)
HOME = Customer(
    "C2",
    "Greg Foster",
    phone="+15125550136",
    sites=(
        Site(
            "S4",
            "4304 Far West Blvd, Austin, TX 78731",
            name="Home",
            zip="78731",
            location=GeoPoint(30.3558, -97.7619),
            equipment=(Equipment("E5", "tankless water heater", skill="plumbing", make="Rinnai"),),
        ),
    ),
)
NO_COORDINATES = Customer(
    "C3",
    "Amanda Sloane",
    phone="+15125550147",
    sites=(Site("S5", "6010 La Crosse Ave, Austin, TX 78739", zip="78739"),),
)
COMPANY = Company(
    settings=CompanySettings(
        name="Ridgeback",
        timezone="America/Chicago",
        business_hours=TimeRange(time(7, 0), time(18, 0)),
    ),
    skills=SKILLS,
    priorities=PRIORITIES,
    customers=(HARBOR, HOME, NO_COORDINATES),
)


def parse(text: str, at: datetime = MONDAY, customer: Customer | None = None) -> Understanding:
    return parse_message(COMPANY, text, at=at, customer=customer)


# -- category ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "skill"),
    [
        ("my air conditioner is making a loud noise", "hvac"),
        ("kitchen faucet dripping nonstop", "plumbing"),
        ("outlet in the bedroom stopped working", "electrical"),
        ("washer wont spin, clothes soaking wet", "appliance"),
        ("garage door opener clicks but door doesnt move", "garage_door"),
        ("ice machine stopped making ice at the restaurant", "refrigeration"),
        ("smoke detector chirping in the hallway", "fire_safety"),
        ("need a handyman to patch drywall and hang a tv mount", "general_handyman"),
    ],
)
def test_each_skill_is_recognised_from_plain_words(text: str, skill: str) -> None:
    assert parse(text).skill == skill


@pytest.mark.parametrize(
    ("text", "skill"),
    [
        ("toilet leeking at the base", "plumbing"),
        ("furnance wont turn on", "hvac"),
        ("frige is warm and everything is melting", "appliance"),
        ("my a/c quit on me", "hvac"),
        ("AC BLOWING HOT AIR!!!", "hvac"),
        ("garge dor stuck halfway", "garage_door"),
        ("dishwaser not cleaning", "appliance"),
        ("waterheater pilot keeps going out", "plumbing"),
        ("thermo stat screen is blank", "hvac"),
        ("electrical outlet smokin 😱", "electrical"),
    ],
)
def test_typos_slang_and_capitals_still_find_the_skill(text: str, skill: str) -> None:
    assert parse(text).skill == skill


@pytest.mark.parametrize(
    ("text", "skill"),
    [
        ("mi aire acondicionado no enfria", "hvac"),
        ("la estufa no calienta bien", "appliance"),
        ("fuga de agua debajo del lavabo", "plumbing"),
        ("puerta del garaje no abre", "garage_door"),
        ("no tengo electricidad en la cocina", "electrical"),
    ],
)
def test_spanish_english_mix_finds_the_skill(text: str, skill: str) -> None:
    assert parse(text).skill == skill


def test_the_broken_thing_outvotes_the_symptom() -> None:
    assert parse("dishwasher leaking from the bottom").skill == "appliance"
    assert parse("water heater leaking from the bottom").skill == "plumbing"


def test_a_longer_phrase_hides_the_words_inside_it() -> None:
    assert parse("fire alarm panel shows a trouble signal").skill == "fire_safety"


def test_real_english_words_are_not_corrected_into_keywords() -> None:
    assert parse("the fence post is leaning").priority == "P3"  # leaning is not leaking


def test_gas_smell_by_the_stove_is_a_plumbing_emergency() -> None:
    understood = parse("i smell gas real strong in the kitchen by the stove")
    assert (understood.skill, understood.priority) == ("plumbing", "P1")


def test_equipment_in_the_customers_register_votes_for_its_skill() -> None:
    understood = parse("the rinnai is showing code 11", customer=HOME)
    assert (understood.skill, understood.equipment_id) == ("plumbing", "E5")


def test_a_message_without_trade_words_has_no_skill_and_asks_for_it() -> None:
    understood = parse("hi can someone call me back")
    assert understood.skill is None
    assert understood.skill_confidence == 0.0
    assert understood.missing == ("skill", "address")


# -- priority ---------------------------------------------------------------------------------


def test_company_emergency_keyword_makes_p1_and_says_why() -> None:
    understood = parse("PIPE BURST under the kitchen sink")
    assert understood.priority == "P1"
    assert understood.priority_reason == "burst"


def test_default_priority_is_standard_without_a_reason() -> None:
    understood = parse("my dryer squeaks")
    assert (understood.priority, understood.priority_reason) == ("P3", None)


def test_no_heat_is_an_emergency_in_a_cold_month() -> None:
    assert parse("furnace is not working", at=MONDAY).priority == "P1"
    assert parse("no heat since yesterday", at=MONDAY).priority == "P1"


def test_no_heat_is_only_urgent_when_it_is_warm() -> None:
    assert parse("no heat since yesterday", at=APRIL).priority == "P2"


def test_a_low_temperature_in_the_text_makes_no_heat_an_emergency_in_spring() -> None:
    assert parse("heater wont turn on and its 41 outside", at=APRIL).priority == "P1"


def test_no_heat_in_a_dryer_is_not_a_heating_emergency() -> None:
    understood = parse("dryer runs but no heat", at=MONDAY)
    assert (understood.skill, understood.priority) == ("appliance", "P3")


def test_ac_out_in_dangerous_heat_with_a_baby_is_an_emergency() -> None:
    assert parse("ac not cooling, its 103 outside and we have a newborn", at=JULY).priority == "P1"
    assert parse("ac not cooling upstairs", at=JULY).priority == "P2"


@pytest.mark.parametrize(
    "text",
    [
        "not an emergency but the water heater drips a bit",
        "no gas smell or anything, the stove just wont light",
        "no sparks or smoke, but the outlet is dead",
    ],
)
def test_negated_emergency_words_do_not_make_an_emergency(text: str) -> None:
    assert parse(text, at=JULY).priority == "P3"


def test_smoke_detector_chirping_is_not_smoke() -> None:
    assert parse("smoke detector chirping every 30 sec").priority == "P3"
    assert parse("smoke coming out of the breaker panel").priority == "P1"


def test_no_rush_lowers_urgent_words_but_never_a_hazard() -> None:
    assert parse("toilet leaking a little, no rush").priority == "P3"
    assert parse("smell gas near the water heater, no rush i guess").priority == "P1"


def test_planned_work_is_p4_even_when_it_can_wait() -> None:
    assert parse("AC tune up next week please", at=APRIL).priority == "P4"
    assert parse("annual furnace check, no rush").priority == "P4"


def test_urgent_words_win_over_planned_words() -> None:
    assert parse("water heater leaking, can you come next week").priority == "P2"


# -- address, site, location ------------------------------------------------------------------


def test_a_full_address_is_normalised_with_zip_city_and_state() -> None:
    understood = parse("leak under sink at 1904 south 1st street austin tx 78704")
    assert understood.street == "1904 S 1st St"
    assert (understood.zip, understood.city, understood.state) == ("78704", "Austin", "TX")


@pytest.mark.parametrize(
    ("text", "street"),
    [
        ("heater out!!! 701 west 31st street its freezing", "701 W 31st St"),
        ("toilet clogged 4305 avenue c", "4305 Avenue C"),
        ("panel quote, 100 amp to 200 amp, 4304 far west blvd", "4304 Far West Blvd"),
        ("sewer backed up 6208 nuckols crossing road", "6208 Nuckols Crossing Rd"),
        ("ac blowing warm 12345 Research Blvd apt 210", "12345 Research Blvd"),
        ("Make-ready at 1806 Manchaca: water heater rusting", "1806 Manchaca"),
    ],
)
def test_streets_are_found_in_run_on_texts(text: str, street: str) -> None:
    assert parse(text).street == street


@pytest.mark.parametrize(
    "text",
    [
        "Tenant in suite 240 reports rooftop unit 2 is blowing warm air",
        "walk in freezer reading 38 and climbing, 4k of product",
        "clothes still wet after 2 cycles, bill was $300",
        "gate code 4410 and lockbox 0420",
    ],
)
def test_counts_and_codes_are_not_streets_or_zips(text: str) -> None:
    understood = parse(text)
    assert (understood.street, understood.zip) == (None, None)


def test_an_unknown_sender_is_placed_at_the_zip_centroid() -> None:
    understood = parse("AC not cooling at 2612 Barton Hills Dr Austin TX 78704")
    assert understood.site_id is None
    assert understood.location is not None
    assert understood.location.lat == pytest.approx(30.2428, abs=0.01)
    assert understood.missing == ()


def test_the_customers_site_is_matched_by_street_and_number() -> None:
    understood = parse("rooftop unit leaking at 1200 barton springs road", customer=HARBOR)
    assert understood.site_id == "S1"
    assert understood.location == GeoPoint(30.2622, -97.76)


def test_a_street_the_customer_does_not_have_is_a_new_place() -> None:
    understood = parse("toilet clogged at 1500 Barton Springs Rd 78704", customer=HARBOR)
    assert understood.site_id is None
    assert understood.street == "1500 Barton Springs Rd"


@pytest.mark.parametrize(
    ("text", "site"),
    [
        ("tenants in building A say the heat is out", "S1"),
        ("the walk-in at the manchaca store is at 45", "S2"),
        ("tenant at avenue H says furnace wont light", "S3"),
    ],
)
def test_the_customers_site_is_matched_by_name(text: str, site: str) -> None:
    assert parse(text, customer=HARBOR).site_id == site


def test_equipment_is_matched_by_type_and_number_and_identifies_the_site() -> None:
    understood = parse("rooftop unit 2 is blowing warm air", customer=HARBOR)
    assert (understood.equipment_id, understood.site_id) == ("E2", "S1")
    understood = parse("RTU 1 short cycling", customer=HARBOR)
    assert understood.equipment_id == "E1"


def test_ambiguous_equipment_is_left_unmatched() -> None:
    understood = parse("rooftop unit making noise", customer=HARBOR)
    assert understood.equipment_id is None


def test_one_site_customer_needs_no_address() -> None:
    understood = parse("no hot water this morning", customer=HOME)
    assert understood.site_id == "S4"
    assert understood.missing == ()


def test_multi_site_customer_without_a_place_is_asked_for_the_address() -> None:
    assert parse("toilet is clogged", customer=HARBOR).missing == ("address",)


def test_a_site_without_coordinates_is_placed_at_its_zip_centroid() -> None:
    understood = parse("dryer not heating", customer=NO_COORDINATES)
    assert understood.site_id == "S5"
    assert understood.location is not None
    assert understood.location.lat == pytest.approx(30.19, abs=0.1)


# -- wanted time ------------------------------------------------------------------------------


def _window(text: str, at: datetime = MONDAY) -> tuple[datetime, datetime] | None:
    return parse(text, at=at).wants


def test_tomorrow_morning_is_tomorrow_before_noon_in_the_company_timezone() -> None:
    wants = _window("can you come tomorrow morning")
    assert wants == (
        datetime(2026, 12, 1, 8, 0, tzinfo=TZ),
        datetime(2026, 12, 1, 12, 0, tzinfo=TZ),
    )
    assert wants is not None and wants[0].utcoffset() == TZ.utcoffset(wants[0])


def test_after_3pm_is_this_afternoon_until_closing() -> None:
    assert _window("after 3pm works") == (
        datetime(2026, 11, 30, 15, 0, tzinfo=TZ),
        datetime(2026, 11, 30, 18, 0, tzinfo=TZ),
    )


def test_after_3pm_tomorrow_is_tomorrow() -> None:
    wants = _window("water softener beeping. after 3pm tomorrow is best")
    assert wants is not None and wants[0] == datetime(2026, 12, 1, 15, 0, tzinfo=TZ)


def test_next_week_is_monday_to_friday_of_next_week() -> None:
    assert _window("service my furnace sometime next week") == (
        datetime(2026, 12, 7, 7, 0, tzinfo=TZ),
        datetime(2026, 12, 11, 18, 0, tzinfo=TZ),
    )


def test_today_and_asap_start_when_the_message_arrived() -> None:
    sent = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 10:00 in Austin
    assert _window("can someone come today", at=sent) == (
        sent.astimezone(TZ),
        datetime(2026, 11, 30, 18, 0, tzinfo=TZ),
    )
    wants = _window("need someone asap", at=sent)
    assert wants is not None and (wants[1] - wants[0]).total_seconds() == 4 * 3600


def test_before_the_15th_runs_until_the_day_before() -> None:
    wants = _window("annual inspection, before the 15th")
    assert wants is not None and wants[1].date() == date(2026, 12, 14)


@pytest.mark.parametrize(
    "text",
    [
        "spring snapped this morning",
        "clothes still wet after 2 cycles",
        "set to 72 but its 79 up there",
        "whenever works",
    ],
)
def test_words_that_tell_what_happened_are_not_a_wanted_time(text: str) -> None:
    assert _window(text) is None


# -- replies and follow-ups -------------------------------------------------------------------


def test_an_address_reply_fills_what_the_first_message_lacked() -> None:
    first = parse("water heater leaking in the garage")
    assert first.missing == ("address",)
    reply = parse_reply(COMPANY, "address", "1200 Barton Springs Rd 78704", MONDAY, None, first)
    assert (reply.skill, reply.priority) == ("plumbing", "P2")
    assert (reply.street, reply.zip, reply.missing) == ("1200 Barton Springs Rd", "78704", ())
    assert reply.location is not None
    assert reply.description == "water heater leaking in the garage\n1200 Barton Springs Rd 78704"


def test_a_follow_up_message_merges_and_new_facts_win() -> None:
    first = parse("toilet is clogged, no rush", customer=HARBOR)
    assert first.missing == ("address",)
    second = parse_message(
        COMPANY,
        "its the manchaca store. now its overflowing!",
        at=MONDAY,
        customer=HARBOR,
        previous=first,
    )
    assert (second.site_id, second.skill, second.priority) == ("S2", "plumbing", "P2")
    assert second.missing == ()


def test_equipment_only_one_site_has_identifies_the_site() -> None:
    understood = parse("walk-in cooler is warm", customer=HARBOR)
    assert (understood.site_id, understood.equipment_id) == ("S2", "E3")
    assert understood.missing == ()


def test_an_emergency_is_not_downgraded_by_a_calmer_reply() -> None:
    first = parse("smell gas in the kitchen")
    reply = parse_reply(COMPANY, "address", "4411 Avenue G, come today", MONDAY, None, first)
    assert reply.priority == "P1"


def test_address_words_do_not_change_the_skill_already_known() -> None:
    first = parse("toilet clogged")
    reply = parse_reply(
        COMPANY, "address", "1200 Barton Springs Rd, gate code 4410", MONDAY, None, first
    )
    assert reply.skill == "plumbing"


def test_a_name_reply_gives_the_name_only() -> None:
    first = parse("toilet clogged")
    reply = parse_reply(COMPANY, "name", "hi its mike rourke", MONDAY, None, first)
    assert reply.name == "Mike Rourke"
    assert reply.skill == "plumbing"
    assert extract_name("Angela Wu, Wu & Park CPAs") == "Angela Wu"
    assert extract_name("My name is Megan O'Connor") == "Megan O'Connor"


def test_a_skill_reply_can_be_the_option_number_or_the_name() -> None:
    first = parse("something is broken")
    assert parse_reply(COMPANY, "skill", "2", MONDAY, None, first).skill == "plumbing"
    assert parse_reply(COMPANY, "skill", "Electrical", MONDAY, None, first).skill == "electrical"
    assert parse_reply(COMPANY, "skill", "the fridge", MONDAY, None, first).skill == "appliance"


def test_a_when_reply_sets_the_wanted_time() -> None:
    reply = parse_reply(COMPANY, "when", "tomorrow after 3", MONDAY, None, parse("toilet clogged"))
    assert reply.wants is not None and reply.wants[0] == datetime(2026, 12, 1, 15, 0, tzinfo=TZ)


def test_an_unknown_question_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown question kind"):
        parse_reply(COMPANY, "colour", "blue", MONDAY)


def test_new_problem_hint_for_a_customer_with_an_open_job() -> None:
    assert parse("also the garage door wont close").is_new_problem_hint("plumbing")
    assert parse("another problem: the sink").is_new_problem_hint("plumbing")
    assert not parse("the water is still leaking").is_new_problem_hint("plumbing")
    assert not parse("here is a photo").is_new_problem_hint("plumbing")


# -- output and plumbing of the module -------------------------------------------------------


def test_to_json_has_the_documented_keys_and_iso_times() -> None:
    understood = parse("rooftop unit 2 blowing warm, tomorrow morning please", customer=HARBOR)
    data = understood.to_json()
    assert set(data) == {
        "skill",
        "priority",
        "street",
        "zip",
        "location",
        "wants",
        "equipment",
        "site",
        "missing",
    }
    assert data["location"] == {"lat": 30.2622, "lon": -97.76}
    assert data["wants"] == {
        "start": "2026-12-01T08:00:00-06:00",
        "end": "2026-12-01T12:00:00-06:00",
    }
    assert (data["equipment"], data["site"], data["missing"]) == ("E2", "S1", [])
    json.dumps(data)


def test_the_model_is_built_once_per_company() -> None:
    assert IntakeModel.for_company(COMPANY) is IntakeModel.for_company(COMPANY)
    other = Company(settings=COMPANY.settings, skills=SKILLS[:1])
    assert IntakeModel.for_company(other) is not IntakeModel.for_company(COMPANY)
    assert parse_message(other, "toilet clogged", at=MONDAY).skill is None


def test_customers_are_found_by_phone_in_any_form_or_by_email() -> None:
    directory = CustomerDirectory(COMPANY)
    assert directory.find("(512) 555-0140") is HARBOR
    assert directory.find("+1 512 555 0136") is HOME
    assert directory.find("FACILITIES@harborview.example") is HARBOR
    assert directory.find("some_telegram_user") is None


def test_jsonl_lines_are_parsed_with_their_sender() -> None:
    lines = [
        json.dumps({"text": "no hot water", "from": "(512) 555-0136"}),
        "",
        json.dumps({"text": "ac out", "at": "2026-07-14T09:00:00-05:00"}),
    ]
    out = [json.loads(line) for line in parse_jsonl(COMPANY, lines, now=MONDAY)]
    assert [(o["customer"], o["skill"], o["site"]) for o in out] == [
        ("C2", "plumbing", "S4"),
        (None, "hvac", None),
    ]


def test_a_five_digit_reference_that_is_no_zip_is_not_the_zip() -> None:
    assert parse("the toilet keeps running all night (ref 99999)").zip is None
    assert parse("the toilet keeps running, 1200 Main St 78701").zip == "78701"
