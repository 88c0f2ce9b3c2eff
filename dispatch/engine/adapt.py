"""From the company's world (technicians, skills, equipment, customers) to planning data.

Planning times are minutes since local midnight of the planning day, plus an offset when a
plan spans days; places are `Point(lat, lon)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from dispatch.company import Company, Customer, Equipment, GeoPoint, Site, Technician, TimeRange
from dispatch.engine.model import Job, Point, Window, Worker


def point(geo: GeoPoint) -> Point:
    return Point(geo.lat, geo.lon)


def window(span: TimeRange, offset: float = 0.0) -> Window:
    start, end = span.minutes()
    return Window(start + offset, end + offset)


def worker_from_technician(
    tech: Technician,
    day: date,
    *,
    start_minutes_offset: float = 0.0,
    fallback_home: Point | None = None,
    now_at: Point | None = None,
    now: float | None = None,
) -> Worker:
    """The technician as a worker for `day`: shift in minutes (plus the offset), only the
    certifications still valid that day, not available on leave or without a shift.

    `fallback_home` (say, the depot) stands in for a missing home. Re-planning mid-day,
    `now_at` is where the technician is and `now` (planning minutes) when: the day then
    starts there and no sooner than now."""
    home = point(tech.home) if tech.home is not None else fallback_home
    if home is None:
        raise ValueError(f"technician {tech.id} has no home location and no fallback")
    span = tech.shift_on(day)
    shift = (
        window(span, start_minutes_offset)
        if span is not None
        else Window(start_minutes_offset, start_minutes_offset)
    )
    if now is not None and now > shift.start:
        shift = Window(min(now, shift.end), shift.end)
    return Worker(
        id=tech.id,
        start=now_at if now_at is not None else home,
        end=home,
        shift=shift,
        skills=dict(tech.skills),
        certifications=tech.certifications_on(day),
        tools=frozenset(tech.tools),
        stock=dict(tech.van_stock),
        territories=frozenset(tech.territories),
        max_jobs=tech.max_jobs_per_day,
        available=span is not None and not tech.on_leave(day),
        name=tech.name,
    )


@dataclass(frozen=True, slots=True)
class JobRequirements:
    """What a job demands and who may (or should) do it, from its category, equipment,
    customer and site."""

    skills: Mapping[str, int] = field(default_factory=dict)
    certifications: frozenset[str] = frozenset()
    tools: frozenset[str] = frozenset()
    territory: str | None = None
    excluded_workers: frozenset[str] = frozenset()
    preferred_workers: frozenset[str] = frozenset()
    vip: bool = False
    contract: bool = False
    access: TimeRange | None = None  # the site's access window

    def apply(self, job: Job, *, offset: float = 0.0) -> Job:
        """The job with these demands; its window narrowed to the site's access window.

        An empty intersection is kept (start after end), so every worker is excluded by
        `time_window` and the explanation says why."""
        span = job.window
        if self.access is not None:
            access = window(self.access, offset)
            span = Window(max(span.start, access.start), min(span.end, access.end))
        return replace(
            job,
            window=span,
            skills=dict(self.skills),
            certifications=self.certifications,
            tools=self.tools,
            territory=self.territory,
            excluded_workers=self.excluded_workers,
            preferred_workers=self.preferred_workers,
            vip=self.vip,
            contract=self.contract,
        )


def job_requirements(
    company: Company,
    skill_id: str,
    equipment: Equipment | None,
    customer: Customer,
    *,
    site: Site | None = None,
) -> JobRequirements:
    """Skill level, certifications and tools from `Skill.requires` and `Equipment.requires`;
    territory from the site's ZIP; exclusions, preferences, VIP and contract from the
    customer."""
    needs = company.requirements(skill_id, equipment)
    territory = None
    if site is not None and site.zip is not None:
        found = company.territory_of_zip(site.zip)
        territory = found.id if found is not None else None
    return JobRequirements(
        skills={skill_id: max([1, *(n.min_level for n in needs)])},
        certifications=frozenset(c for n in needs for c in n.certifications),
        tools=frozenset(t for n in needs for t in n.tools),
        territory=territory,
        excluded_workers=frozenset(customer.excluded_technicians),
        preferred_workers=frozenset(customer.preferred_technicians),
        vip=customer.vip,
        contract=customer.contract is not None,
        access=site.access_window if site is not None else None,
    )
