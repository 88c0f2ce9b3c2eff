"""The simulated world around the product: customers who write and answer, technicians who
take offers, drive and work, a dispatcher who approves what the engine suggests for a flagged
job, as a person would rather than leave the customer waiting: a suggestion outside the
technician's territory too (an override `/approve` records with the rule), for urgent work
or work due today; routine work due later waits for the territory's own technicians. Every
action is a message on the simulator channel through `bot.inbound.receive`, or a dispatcher
service call; what people see is read back from the delivered outbox."""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.inbound import receive
from bot.messages import Inbound
from bot.notify import publish
from bot.timers import sweep
from dispatch.clock import Clock
from dispatch.company import Company
from dispatch.engine.model import Point
from dispatch.events import Event
from dispatch.manual import approve
from dispatch.replan import report_late, report_sick
from dispatch.workorder import Status
from storage.outbox_repo import WAITING
from storage.tables import OutboxRow, SiteRow, WorkOrderRow
from webhooks.simulate.product import Product
from webhooks.simulate.scenario import Request, Scenario, TechEvent
from webhooks.simulate.setting import (
    aware,
    deadline_due,
    drive_km,
    local,
    made_up_phones,
    next_deadline,
)

APPROVE_AFTER = timedelta(minutes=5)
Action = Callable[[], Awaitable[None]]
Progress = Callable[[float, datetime], None]


@dataclass
class Tech:
    id: str
    phone: str
    place: Point | None
    phase: str = "idle"  # idle | waiting | driving | working
    seq: int | None = None
    sick: bool = False
    free_at: datetime | None = None  # running late: nothing new before this
    pending: tuple[datetime, str, Action] | None = None  # the next step of the job under way
    version: int = 0


@dataclass
class Simulation:
    scenario: Scenario
    company: Company
    product: Product
    seed: int
    progress: Progress | None = None
    heap: list[tuple[datetime, int, str, Action]] = field(default_factory=list)
    counter: int = 0
    messages: int = 0
    outbox_cursor: int = 0
    max_seq: int = 0
    phones: dict[str, str] = field(default_factory=dict)
    answers: dict[str, list[str]] = field(default_factory=dict)
    seq_request: dict[int, int] = field(default_factory=dict)
    techs: dict[str, Tech] = field(default_factory=dict)
    offers_seen: dict[tuple[int, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.phones = made_up_phones(self.scenario, self.company)
        for t in self.company.technicians:
            home = Point(t.home.lat, t.home.lon) if t.home else None
            self.techs[t.id] = Tech(t.id, t.phone, home)
        self.by_phone = {t.phone: t for t in self.techs.values()}
        self.dispatcher_phone = (
            self.company.dispatchers[0].phone if self.company.dispatchers else ""
        )
        self.detour = self.company.assignment.detour_factor
        self.behaviour = self.scenario.technicians

    # --- randomness: one stream per decision, so policies see the same world -------------

    def rng(self, *key: object) -> random.Random:
        return random.Random(":".join([str(self.seed), *(str(k) for k in key)]))

    # --- the event loop ------------------------------------------------------------------

    def at(self, when: datetime, label: str, action: Action) -> None:
        self.counter += 1
        heapq.heappush(self.heap, (when, self.counter, label, action))

    @property
    def clock(self) -> Clock:
        """The product's clock (a live replay reads the server's)."""
        return self.product.clock

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def schedule_day(self) -> None:
        """Put the day's requests and events on the agenda."""
        for i, r in enumerate(self.scenario.requests):
            self.at(local(self.scenario, self.company, r.at), f"request {i}", self._request(i, r))
        for e in self.scenario.events:
            self.at(
                local(self.scenario, self.company, e.at), f"{e.kind} {e.technician}", self._event(e)
            )

    async def run(self, start: datetime, end: datetime) -> None:
        self.schedule_day()
        self.product.clock.current = start
        while True:
            when = await self._next_time()
            if when is None or when > end:
                break
            self.product.clock.current = when
            while self.heap and self.heap[0][0] <= when:
                _, _, _, action = heapq.heappop(self.heap)
                await action()
            if await deadline_due(self.product.sessions, self.now):
                await sweep(self.product.uow, self.product.deps)
            await self._move_idle_technicians()
            # One delivery per instant is enough: nobody reacts in the same minute.
            await self._flush()
            if self.progress is not None:
                self.progress((when - start) / (end - start), when)
        self.product.clock.current = end
        if self.progress is not None:
            self.progress(1.0, end)

    async def _next_time(self) -> datetime | None:
        now = self.now
        if self.heap and self.heap[0][0] <= now:
            return now
        found = [self.heap[0][0]] if self.heap else []
        deadline = await next_deadline(self.product.sessions, now)
        return min([*found, *([deadline] if deadline else [])], default=None)

    # --- saying things -------------------------------------------------------------------

    async def say(
        self, phone: str, text: str = "", *, choice: str | None = None, ext: str | None = None
    ) -> None:
        self.messages += 1
        external_id = ext or f"sim-{self.messages:06d}"
        msg = Inbound(
            channel="sim",
            sender=phone,
            external_id=external_id,
            received_at=self.now,
            text=text,
            choice=choice,
        )
        raw = json.dumps({"from": phone, "text": text, "choice": choice})
        await receive(self.product.uow, self.product.deps, msg, raw, inline_replies=False)

    async def _flush(self) -> None:
        """Deliver what is due and let people react to what reached them."""
        await self.product.deliver()
        await self.react_to_delivered()

    async def react_to_delivered(self) -> None:
        """Let people react to the messages delivered since the last look."""
        async with self.product.sessions() as s:
            rows = list(
                await s.scalars(
                    select(OutboxRow)
                    .where(OutboxRow.id > self.outbox_cursor)
                    .order_by(OutboxRow.id)
                )
            )
        for row in rows:
            if row.status in WAITING:
                break
            self.outbox_cursor = row.id
            if row.status in ("sent", "delivered"):  # not failed or suppressed: nobody saw it
                self._react(row.recipient, row.kind, row.payload or {}, row.work_order_id)

    def _react(self, phone: str, kind: str, payload: dict[str, Any], wo_id: int | None) -> None:
        choices = [c for c in payload.get("choices", []) if isinstance(c, dict)]
        tech = self.by_phone.get(phone)
        if tech is not None:
            if kind == "offer":
                data = next(
                    (str(c["data"]) for c in choices if str(c["data"]).startswith("accept:")), ""
                )
                if data:
                    self._answer_offer(tech, int(data.split(":")[1]))
            elif kind == "lone_check" and not tech.sick:
                self.at(
                    self.now + timedelta(minutes=1),
                    f"ok {tech.id}",
                    self._say_action(tech.phone, "OK"),
                )
            return
        if phone == self.dispatcher_phone:
            if kind == "alert" and wo_id is not None:
                self.at(self.now + APPROVE_AFTER, f"approve {wo_id}", self._approve(wo_id))
            return
        if kind == "question":
            queue = self.answers.get(phone, [])
            if queue:
                answer = queue.pop(0)
                delay = 1 + self.rng("answer", phone, len(queue)).randint(0, 2)
                self.at(
                    self.now + timedelta(minutes=delay), "answer", self._say_action(phone, answer)
                )
        elif kind == "signoff":
            reply = next((str(c.get("reply", "")) for c in choices), "")
            extra = payload.get("extra")
            seq = extra.get("seq") if isinstance(extra, dict) else None
            r = self.rng("confirm", seq)
            if reply and r.random() < self.scenario.confirm_probability:
                wait = timedelta(minutes=2 + r.randint(0, 15))
                self.at(self.now + wait, "sign", self._say_action(phone, reply))

    def _say_action(self, phone: str, text: str, choice: str | None = None) -> Action:
        async def act() -> None:
            await self.say(phone, text, choice=choice)

        return act

    # --- customers -----------------------------------------------------------------------

    def _request(self, i: int, r: Request) -> Action:
        async def act() -> None:
            phone = self.phones[r.sender]
            self.answers[phone] = list(r.answers)
            await self.say(phone, r.text, ext=f"req-{i:03d}")
            async with self.product.sessions() as s:
                top = await s.scalar(select(func.max(WorkOrderRow.seq))) or 0
            for seq in range(self.max_seq + 1, top + 1):
                self.seq_request[seq] = i
            self.max_seq = max(self.max_seq, top)

        return act

    # --- technicians ---------------------------------------------------------------------

    def _answer_offer(self, tech: Tech, seq: int) -> None:
        low, high = self.behaviour.reply_minutes
        n = self.offers_seen.get((seq, tech.id), 0)
        self.offers_seen[(seq, tech.id)] = n + 1
        r = self.rng("offer", tech.id, seq, n)
        delay = timedelta(minutes=round(r.uniform(low, high), 1))
        yes = r.random() < self.behaviour.accept_probability and not tech.sick
        text = f"A {seq}" if yes else f"D {seq} busy"
        self.at(self.now + delay, f"{text} {tech.id}", self._say_action(tech.phone, text))

    async def _move_idle_technicians(self) -> None:
        """Idle technicians set off for their next planned job as soon as they are free (for
        a job at a time the customer asked for, in time to arrive when it starts, not
        before); one waiting to leave follows changes to their plan."""
        free = [t for t in self.techs.values() if t.phase in ("idle", "waiting") and not t.sick]
        if not free:
            return
        now = self.now
        async with self.product.sessions() as s:
            rows = (
                await s.execute(
                    select(
                        WorkOrderRow.seq,
                        WorkOrderRow.technician_id,
                        WorkOrderRow.planned_start,
                        WorkOrderRow.wants_start,
                        SiteRow.lat,
                        SiteRow.lon,
                    )
                    .join(SiteRow, SiteRow.id == WorkOrderRow.site_id, isouter=True)
                    .where(WorkOrderRow.status == Status.ASSIGNED.value)
                    .order_by(WorkOrderRow.planned_start, WorkOrderRow.seq)
                )
            ).all()
        zone = ZoneInfo(self.company.settings.timezone)
        for tech in free:
            if tech.free_at is not None and tech.free_at > now:
                continue
            target = None
            for seq, tech_id, planned, wants, lat, lon in rows:
                planned = aware(planned) if planned is not None else now
                if tech_id == tech.id and planned.astimezone(zone).date() == self.scenario.day:
                    site = Point(lat, lon) if lat is not None and lon is not None else None
                    minutes = self._drive_minutes(tech.place, site)
                    # Free now: off to the next job at once, but not to arrive before the
                    # time its customer asked for.
                    leave = now if wants is None else aware(wants) - timedelta(minutes=minutes)
                    target = (seq, site, max(now, leave))
                    break
            if target is None:
                if tech.phase == "waiting":
                    tech.version += 1  # the job went elsewhere
                    tech.phase, tech.seq, tech.pending = "idle", None, None
                continue
            seq, site, leave = target
            pending = tech.pending
            if tech.phase == "waiting" and tech.seq == seq and pending and pending[0] == leave:
                continue
            tech.phase, tech.seq = "waiting", seq
            self._step(tech, leave, "omw", self._depart(tech, seq, site))

    def _drive_minutes(self, a: Point | None, b: Point | None) -> float:
        if a is None or b is None:
            return 20.0
        return max(1.0, round(drive_km(a, b, self.detour) / self.behaviour.speed_kmh * 60))

    def _step(self, tech: Tech, when: datetime, label: str, action: Action) -> None:
        tech.version += 1
        version = tech.version
        tech.pending = (when, label, action)

        async def guarded() -> None:
            if tech.version == version:
                tech.pending = None
                await action()

        self.at(when, f"{label} {tech.id}", guarded)

    def _depart(self, tech: Tech, seq: int, site: Point | None) -> Action:
        async def act() -> None:
            await self.say(tech.phone, "ON MY WAY", choice=f"step:omw:{seq}")
            if not await self._status_is(seq, tech.id, Status.EN_ROUTE):
                tech.phase, tech.seq = "idle", None  # taken off meanwhile: look again
                return
            tech.phase = "driving"
            arrive = self.now + timedelta(minutes=self._drive_minutes(tech.place, site))
            self._step(tech, arrive, "arrived", self._arrive(tech, seq, site))

        return act

    def _arrive(self, tech: Tech, seq: int, site: Point | None) -> Action:
        async def act() -> None:
            await self.say(tech.phone, "ARRIVED", choice=f"step:arrived:{seq}")
            await self.say(tech.phone, "START", choice=f"step:start:{seq}")
            tech.place = site or tech.place
            tech.phase = "working"
            self._step(
                tech,
                self.now + timedelta(minutes=self._work_minutes(seq)),
                "done",
                self._done(tech, seq),
            )

        return act

    def _work_minutes(self, seq: int) -> float:
        i = self.seq_request.get(seq)
        base = float(self.scenario.requests[i].true_minutes) if i is not None else 60.0
        overrun = self.rng("overrun", i if i is not None else f"wo{seq}").random()
        return base * 1.5 if overrun < self.behaviour.overrun_probability else base

    def _done(self, tech: Tech, seq: int) -> Action:
        async def act() -> None:
            await self.say(tech.phone, "DONE", choice=f"step:done:{seq}")
            await self.say(tech.phone, "Fixed and tested, all working again")
            tech.phase, tech.seq = "idle", None

        return act

    async def _status_is(self, seq: int, tech_id: str, status: Status) -> bool:
        async with self.product.sessions() as s:
            row = (
                await s.execute(
                    select(WorkOrderRow.status, WorkOrderRow.technician_id).where(
                        WorkOrderRow.seq == seq
                    )
                )
            ).first()
        return row is not None and row[0] == status.value and row[1] == tech_id

    # --- the dispatcher and the day's events ------------------------------------------------

    def _approve(self, wo_id: int) -> Action:
        async def act() -> None:
            async with self.product.uow() as uow:
                seq = await uow.session.scalar(
                    select(WorkOrderRow.seq).where(WorkOrderRow.id == wo_id)
                )
                wo = None if seq is None else await uow.work_orders.get(seq)
                if wo is None or wo.flag is None or wo.technician_id is not None:
                    return
                if wo.status not in (Status.READY, Status.NEW):
                    return
                decision = await uow.assignments.latest_decision(wo.seq) or {}
                if decision.get("waived") and self._can_wait(wo.priority, wo.sla_due_at):
                    return  # routine work waits for the territory's own technicians
                outcome = await approve(
                    uow, self.clock, wo.seq, actor="dispatcher:sim", channel="sim"
                )
                await publish(uow, self.product.deps, outcome.events)
                await uow.commit()

        return act

    def _can_wait(self, priority: str, due: datetime | None) -> bool:
        """Routine work (P3, P4) not due today can wait for a technician of the territory;
        urgent work, or work that would break its promise today, goes now."""
        if priority in ("P1", "P2") or due is None:
            return False
        zone = ZoneInfo(self.company.settings.timezone)
        return aware(due).astimezone(zone).date() > self.scenario.day

    def _event(self, e: TechEvent) -> Action:
        async def act() -> None:
            tech = self.techs[e.technician]
            clock = self.clock
            async with self.product.uow() as uow:
                events: list[Event]
                if e.kind == "sick":
                    tech.sick = True
                    events = await report_sick(
                        uow, clock, tech.id, actor="dispatcher:sim", note=e.note
                    )
                else:
                    events = await report_late(
                        uow, clock, tech.id, e.minutes, actor=f"technician:{tech.id}"
                    )
                await publish(uow, self.product.deps, events)
                await uow.commit()
            if e.kind == "running_late":
                self._delay(tech, timedelta(minutes=e.minutes))
            elif tech.phase == "waiting":
                tech.version += 1  # never left: goes home
                tech.phase, tech.seq, tech.pending = "idle", None, None

        return act

    def _delay(self, tech: Tech, by: timedelta) -> None:
        """The true world runs late too: the step under way takes `by` longer."""
        if tech.pending is not None and tech.phase in ("driving", "working"):
            when, label, action = tech.pending
            self._step(tech, when + by, label, action)
        else:
            if tech.phase == "waiting":
                tech.version += 1
                tech.phase, tech.seq, tech.pending = "idle", None, None
            tech.free_at = self.now + by
