"""The built-in priority rules' one-search prefilter finds every signal the rule-by-rule scan
finds: on the labeled texts, and on clauses built from the rules' own words."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intake import priority
from bot.intake.priority_rules import RULES
from bot.intake.text import Words, split_words
from tests.bench.bench_intake import load_labeled

SKILLS = (None, "plumbing", "hvac", "electrical", "appliance")
# Words of the rules' own patterns, so generated clauses often say what a rule looks for,
# and the words of the rules' look-arounds ("detector de", "alarm"), negators and fillers.
VOCABULARY = sorted(
    {w for rule in RULES for w in re.findall(r"[a-z]+", rule.pattern.pattern) if len(w) > 1}
    | {"no", "not", "the", "my", "is", "and", "but", "de", "a"}
)


def scanned(words: Words, raw_text: str, skill: str | None) -> list[tuple[str, str]]:
    """What _rule_signals found before the prefilter: every rule over every clause."""
    found: list[tuple[str, str]] = []
    clauses = priority._clause_texts(words)
    whole = " ".join(clauses)
    for rule in RULES:
        if rule.skills is not None and skill is not None and skill not in rule.skills:
            continue
        if rule.whole:
            if rule.pattern.search(whole) is not None:
                found.append((priority._level(rule.level, raw_text, False), rule.reason))
            continue
        for clause in clauses:
            for match in rule.pattern.finditer(clause):
                if priority._negated(clause[: match.start()].split()):
                    continue
                found.append((priority._level(rule.level, raw_text, False), match.group(0)))
                break
    return found


def signals(text: str, skill: str | None) -> list[tuple[str, str]]:
    found = priority.PriorityModel._rule_signals(split_words(text), text, skill, False)
    return [(s.level, s.reason) for s in found]


def test_the_labeled_texts_get_the_same_signals() -> None:
    rows = load_labeled()
    some = 0
    for row in rows:
        text = str(row["text"])
        for skill in SKILLS:
            expected = scanned(split_words(text), text, skill)
            assert signals(text, skill) == expected, text
            some += bool(expected)
    assert some > 50  # the corpus has emergencies and urgent jobs: the rules were exercised


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=8), min_size=1, max_size=4),
    st.sampled_from(SKILLS),
)
def test_generated_clauses_get_the_same_signals(
    clauses: list[list[str]], skill: str | None
) -> None:
    text = ". ".join(" ".join(words) for words in clauses)
    assert signals(text, skill) == scanned(split_words(text), text, skill)


def test_a_text_no_rule_speaks_of_stops_at_the_one_search() -> None:
    words = split_words("the toilet keeps running all night. it is loud")
    assert priority._ANY_RULE.search(" ".join(priority._clause_texts(words))) is None
    assert signals("the toilet keeps running all night. it is loud", None) == []
