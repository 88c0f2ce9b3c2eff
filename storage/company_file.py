"""Load and validate a company file (shared/spec/company-format.md) into `dispatch.company.Company`.

Every problem in the file is collected in one pass and raised together as `CompanyFileError`,
each named by its key path (`technicians[3].skils: unknown key`), so nothing is written when any
part of the file is invalid. Sites (and the depot) without lat/lon are placed at their ZIP centroid.

Keys added to the published format, all optional:

- `company.pm_lookahead_days`: whole number >= 0, default 14 (how far ahead PM work is proposed).
- `company.lone_worker_minutes`: whole number > 0, default 60 (check-in interval on site).
- `skills[].requires` and `customers[].sites[].equipment[].requires`:
  `{certifications: [ids], tools: [ids], min_level: 1..3}`: what the technician must hold.
- `assignment: {weights: {name: number >= 0}, detour_factor: number >= 1, speed_kmh: number > 0,
  routing_url: http(s) URL}`; weight names are those of `DEFAULT_WEIGHTS`, missing ones keep
  their default.
- `auto_assign.skills` is `all` (stored as None) or a list of skill ids.

Also accepted: a certification grant written as a bare id (`certifications: [epa608]`, no
expiry). Defaults: `prefers` is sms, priorities missing from `priorities` keep the names
Emergency/Urgent/Standard/Planned, contracts must give `response_hours` for all of P1..P4.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from dispatch.company import Company
from storage import company_people as people
from storage import company_sections as sections
from storage.company_values import Problem, Reader, each

__all__ = ["CompanyFileError", "LoadResult", "Problem", "load_company_file", "parse_company"]


@dataclass(frozen=True, slots=True)
class LoadResult:
    company: Company
    geocoded_sites: tuple[str, ...]  # ids of sites placed at their ZIP centroid
    warnings: tuple[str, ...]


class CompanyFileError(Exception):
    """The file is invalid; `problems` holds every problem found.

    Problems come in file order, except unknown references, which follow once all ids are known.
    """

    def __init__(self, problems: tuple[Problem, ...], source: str = "<file>") -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems
        self.source = source


def load_company_file(path: Path) -> LoadResult:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CompanyFileError((Problem("", f"cannot read {path}: {exc}"),), str(path)) from exc
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = Problem(where, f"YAML syntax error: {exc.problem or exc.context}")
        raise CompanyFileError((problem,), str(path)) from exc
    except yaml.YAMLError as exc:
        raise CompanyFileError((Problem("", f"YAML error: {exc}"),), str(path)) from exc
    finally:
        loader.dispose()
    if loader.duplicates:
        raise CompanyFileError(tuple(loader.duplicates), str(path))
    return parse_company(data, str(path))


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps dates as text (checked later with a path) and rejects repeated keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[Problem] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            # Merge keys (<<) legitimately repeat and override; only plain keys are checked.
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            if key_node.value in seen:
                where = f"line {key_node.start_mark.line + 1}"
                message = f"key {key_node.value!r} appears twice in one mapping"
                self.duplicates.append(Problem(where, message))
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


# An invalid date such as 2026-13-01 would otherwise raise a bare ValueError inside PyYAML.
def _timestamp_as_text(loader: _Loader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)
    return str(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)

_SECTIONS = (
    "skills",
    "certifications",
    "tools",
    "parts",
    "territories",
    "priorities",
    "contracts",
    "auto_assign",
    "assignment",
    "technicians",
    "dispatchers",
    "customers",
)


def parse_company(data: object, source: str = "<file>") -> LoadResult:
    reader = Reader()
    if not isinstance(data, dict):
        reader.expected(
            "(top level)", f"a mapping of sections (company, {', '.join(_SECTIONS)})", data
        )
        raise CompanyFileError(tuple(reader.problems), source)
    top = reader.section(data, "", ("company",), _SECTIONS)
    assert top is not None
    settings = sections.settings(reader, top.raw("company")) if "company" in top else None
    skills = each(reader, top.raw("skills"), "skills", "skills", sections.skill)
    certifications = each(
        reader,
        top.raw("certifications"),
        "certifications",
        "certifications",
        sections.certification,
    )
    tools = each(reader, top.raw("tools"), "tools", "tools", sections.tool)
    parts = each(reader, top.raw("parts"), "parts", "parts", sections.part)
    territories = each(
        reader, top.raw("territories"), "territories", "territories", sections.territory
    )
    priorities = sections.priorities(reader, top.raw("priorities"))
    contracts = each(reader, top.raw("contracts"), "contracts", "contracts", sections.contract)
    auto_assign = sections.auto_assign(reader, top.raw("auto_assign"))
    assignment = sections.assignment(reader, top.raw("assignment"))
    technicians = people.technicians(reader, top.raw("technicians"))
    dispatchers = people.dispatchers(reader, top.raw("dispatchers"))
    geocoded: list[str] = []
    customers = people.customers(reader, top.raw("customers"), geocoded)
    reader.resolve()
    if reader.problems or settings is None:
        raise CompanyFileError(tuple(reader.problems), source)
    company = Company(
        settings=settings,
        skills=skills,
        certifications=certifications,
        tools=tools,
        parts=parts,
        territories=territories,
        priorities=priorities,
        contracts=contracts,
        auto_assign=auto_assign,
        assignment=assignment,
        technicians=technicians,
        dispatchers=dispatchers,
        customers=customers,
    )
    return LoadResult(company, tuple(geocoded), tuple(reader.warnings))
