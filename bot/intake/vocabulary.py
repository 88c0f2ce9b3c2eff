"""Built-in words people use for each kind of work, in English, slang and Spanish.

The company's own skill keywords come first; these fill the gaps every company has (typos are
handled by the corrector, not listed here). Phrases are written already normalised: lower case,
no accents, no apostrophes, "walk-in" as "walk in".

Phrases are keyed by the usual skill ids; a company whose ids differ simply gets no built-in
help for those skills.
"""

from __future__ import annotations

from collections.abc import Mapping


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(" ".join(item.split()) for item in text.split(",") if item.strip())


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


SKILL_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "hvac": _phrases(
        """
        ac, a c, air conditioner, air conditioning, aircon, central air, hvac, heater, heating,
        heat, furnace, heat pump, thermostat, condenser, compressor, blower, air handler,
        duct, rooftop unit, rtu, split system, mini split, minisplit, ductwork, ducts, freon,
        refrigerant, nest, ecobee, drain line, condensate, not cooling, not heating, blowing
        warm, blowing hot, blowing cold, no heat, no ac, aire, el aire, aire acondicionado,
        clima, calefaccion, calentador, no enfria, carbon monoxide
        """
    ),
    "plumbing": _phrases(
        """
        plumber, plumbing, water meter, water pooling, pipe, pipes, leak, leaks, leaking, drip,
        dripping, drippy, faucet,
        sink, toilet, shower, tub, bathtub, drain, clog, clogged, backed up, sewer, sewage,
        septic, water heater, hot water heater, tankless, water softener, softener, spigot, hose
        bib, water line, main line, water main, shut off valve, valve, gas line, water leak, no
        hot water, running toilet, overflowing, plunger, washer hose, supply line, hose burst,
        water everywhere, slab leak, water pressure, fuga, fuga de agua, gotera, tuberia, tubo,
        lavabo, fregadero, inodoro, excusado, regadera, drenaje, tapado, calentador de agua,
        agua caliente
        """
    ),
    "electrical": _phrases(
        """
        electrician, ev charger, charger, circuit, 240v, electrical, electric, outlet, plug,
        switch, light switch, light, lights,
        breaker, breaker box, panel, electrical panel, fuse, wiring, wire, wires, gfci, gfi, no
        power, power out, tripped, tripping, sparks, sparked, sparking, flickering, recessed
        lights, ceiling fan, chandelier, light fixture, fixture, generator, surge, amp, amps,
        porch light, luz, luces, electricidad, enchufe, apagador, cortocircuito
        """
    ),
    "appliance": _phrases(
        """
        washer, washing machine, dryer, dishwasher, fridge, refrigerator, freezer, chest
        freezer, oven, range, stove, cooktop, burner, microwave, ice maker, disposal, water
        dispenser, dryer vent, appliance, lavadora, secadora, estufa, horno, refrigerador,
        nevera, refri, lavaplatos, congelador, quemador
        """
    ),
    "garage_door": _phrases(
        """
        garage door, opener, spring, torsion, track, roll up door, overhead door, gate opener,
        gate operator, entry gate, parking gate, liftmaster, chamberlain, genie, keypad, garage
        remote, puerta del garaje, garaje, cochera, porton, resorte
        """
    ),
    "refrigeration": _phrases(
        """
        walk in, reach in, ice machine, prep table, display case, glycol, chiller, beer cooler,
        keg cooler, evaporator fan, walk in cooler, walk in freezer, camara fria
        """
    ),
    "fire_safety": _phrases(
        """
        sprinkler, sprinkler pipe, sprinkler line, sprinkler head, fire alarm, alarm panel,
        fire panel, smoke detector, smoke alarm, smoke
        detectors, smoke alarms, extinguisher, fire extinguisher, backflow, fire marshal, riser,
        trouble signal, trouble mode, strobe, pull station, alarma de incendio, detector de humo
        """
    ),
    "general_handyman": _phrases(
        """
        handyman, grab bar, grab bars, hang, pictures, picture, mirror, curtain rod, curtains,
        assemble, furniture,
        odd jobs, drywall, sheetrock, hole in wall, hole in the wall, door, doors, deadbolt,
        lock, hinge, caulk, fence, gate, shelves, shelf, tv, tv mounted, blinds, cabinet, tile,
        grout, weatherstripping, paint, patch, trim, baseboard, closet door, screen door,
        puerta, cerca, pintar
        """
    ),
}

# Phrases with a weight of their own: a gas smell must outvote the appliance it is next to
# ("smell gas by the stove" goes to a plumber, who works on gas lines).
WEIGHTED_SYNONYMS: Mapping[str, tuple[tuple[str, float], ...]] = {
    "plumbing": tuple(
        (phrase, 3.0)
        for phrase in _phrases(
            "gas leak, smell gas, gas smell, smells like gas, huele a gas, olor a gas"
        )
    ),
}

# Words that describe a symptom rather than a thing. A keyword made only of these votes less
# than one that names the thing: "dishwasher leaking" is an appliance job, not plumbing.
SYMPTOM_WORDS: frozenset[str] = word_set(
    """
    backed backing blowing broken burning burst cant chirping clog clogged close cold cooling
    doesnt dont down draining drip dripping drippy enfria everywhere flickering fuga gas heat
    heating holding hot isnt keep keeps leak leaking leaks leeking like no not off open
    overflowing power running smell smells smoke snapped sparked sparking sparks spin stuck
    tapado temp track tripped tripping up warm water wont
    """
)

# A thing that is more often where the problem is than what is broken ("shelves in the garage").
PLACE_WORDS: frozenset[str] = word_set("garage kitchen bathroom attic closet")

STOPWORDS: frozenset[str] = word_set(
    """
    a again all also am an and any are as at be been but by can could did do does for from had
    has have he hello her here hey hi his how i if in into is it its just may me might must my
    no not of ok okay on onto or our out over please pls shall she should so some still than
    thank thanks that the their them then there these they this those to too under up us very
    was we were what when where which who will with without would yes yet you your
    """
)

# Slang and shorthand seen in texts, rewritten before anything else looks at the words.
SLANG: Mapping[str, str] = {
    short: long
    for short, long in (
        pair.split("=", 1)
        for pair in _phrases(
            """
        2day=today, tdy=today, 2morrow=tomorrow, 2moro=tomorrow, tmrw=tomorrow, tmr=tomorrow,
        tomorow=tomorrow, tommorow=tomorrow, tommorrow=tomorrow, thru=through, u=you, ur=your,
        pls=please, plz=please, w=with, aint=isnt, fridg=fridge, bldg=building, bldgs=buildings,
        appt=appointment, ac's=ac, acs=ac, hrs=hours, yrs=years, mins=minutes, nite=night,
        tonite=tonight, walkin=walk in, reachin=reach in, waterheater=water heater
        """
        )
    )
}

# Time words the corrector should know, so "tomorow mornin" still reads as a time.
TIME_WORDS: frozenset[str] = word_set(
    """
    today tonight tomorrow morning afternoon evening night noon week weekend monday tuesday
    wednesday thursday friday saturday sunday anytime asap soonest
    """
)
