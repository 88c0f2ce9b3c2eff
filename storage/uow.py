"""The unit of work on SQLAlchemy: one session, one transaction, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self
from weakref import WeakKeyDictionary

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatch.ports import Contention, TravelMatrix
from storage.assignment_repo import AssignmentRepository
from storage.board_repo import BoardLinks
from storage.company_repo import CompanyRepository
from storage.core import HELD
from storage.held import Held, held_for
from storage.jobs_repo import JobsRepository
from storage.messaging_repo import ConversationRepository, IdentityRepository, InboundRepository
from storage.no_matrix import NoMatrix
from storage.outbox_repo import OutboxRepository
from storage.sequences import next_value
from storage.sla_repo import SlaRepository
from storage.tokens import TokenRepository
from storage.workorder_repo import WorkOrderRepository, write_pending_events

# Sessions closed cleanly, per session factory, for the next units of work: a session is
# reset by its close and may be used again (SQLAlchemy's close_resets_only). Making one, with
# its event dispatch built attribute by attribute on first use, cost about a fifth of an
# empty unit of work (125,000 of 640,000 instructions), twice a request.
_SPARE: WeakKeyDictionary[async_sessionmaker[AsyncSession], list[AsyncSession]] = (
    WeakKeyDictionary()
)
_MAX_SPARE = 8


# PostgreSQL's deadlock_detected and serialization_failure: the server rolled the
# transaction back for a concurrent one's sake; the same work may succeed when run again.
_CONTENTION = frozenset({"40P01", "40001"})


def contended(exc: BaseException | None) -> bool:
    """Whether the store gave the transaction up for a concurrent one (`_CONTENTION`)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    return getattr(orig, "sqlstate", None) in _CONTENTION


async def _held(sessions: async_sessionmaker[AsyncSession]) -> Held | None:
    bind = sessions.kw.get("bind")
    return await held_for(bind) if isinstance(bind, AsyncEngine) else None


class SqlUnitOfWork:
    session: AsyncSession
    work_orders: WorkOrderRepository
    company: CompanyRepository
    tokens: TokenRepository
    inbound: InboundRepository
    identities: IdentityRepository
    conversations: ConversationRepository
    outbox: OutboxRepository
    assignments: AssignmentRepository
    sla: SlaRepository
    board: BoardLinks
    billing: JobsRepository

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], travel: TravelMatrix | None = None
    ) -> None:
        self._sessions = sessions
        self.travel: TravelMatrix = travel or NoMatrix()

    async def __aenter__(self) -> Self:
        self._held: Held | None = None
        held = await _held(self._sessions)
        if held is not None and not held.mine():  # inside another's: through the pool
            await held.take()
            self._held = held
            try:
                session = held.spare.pop() if held.spare else self._sessions(bind=held.conn)
            except BaseException:
                held.give_back()
                raise
            session.sync_session.info[HELD] = held
            self.session = session
        else:
            spare = _SPARE.get(self._sessions)
            self.session = spare.pop() if spare else self._sessions()
        self.work_orders = WorkOrderRepository(self.session)
        self.company = CompanyRepository(self.session)
        self.tokens = TokenRepository(self.session)
        self.identities = IdentityRepository(self.session)
        self.conversations = ConversationRepository(self.session)
        self.inbound = InboundRepository(
            self.session, self.identities, self.conversations, self.work_orders
        )
        self.outbox = OutboxRepository(self.session)
        self.assignments = AssignmentRepository(self.session, self.work_orders, self.company)
        self.sla = SlaRepository(self.session)
        self.board = BoardLinks(self.session)
        self.billing = JobsRepository(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.work_orders.forget_locks(rolled_back=True)  # a no-op after commit()
        finally:
            await self._release()
        if contended(exc):
            raise Contention(str(exc).partition("\n")[0]) from exc

    async def _release(self) -> None:
        """Roll back what was not committed, let the session's objects go, keep the session
        for the next unit of work if it closed cleanly, and (SQLite) give the held
        connection to the next one."""
        session, held = self.session, self._held
        sync = session.sync_session
        clean = False
        try:
            if sync.in_transaction():
                await session.close()  # rolls back what was not committed
            else:
                # Committed (or never begun): closing only lets go of the objects, with no
                # database call to await, so not through a greenlet of its own.
                sync.close()
            if held is not None:
                await held.end(commit=False)
            clean = True
        finally:
            # What the repositories noted for this transaction (timeline rows not written,
            # the connection, the company version read) goes with it.
            sync.info.clear()
            spare = held.spare if held is not None else _SPARE.setdefault(self._sessions, [])
            if clean and len(spare) < _MAX_SPARE:
                spare.append(session)
            if held is not None:
                held.give_back()

    async def next_number(self, name: str) -> int:
        return await next_value(self.session, name)

    async def commit(self) -> None:
        try:
            # The timeline rows queued: the before_commit hook would write them too, but
            # through the ORM session's execution, the long way (storage.core).
            await write_pending_events(self.session)
            held = self._held
            # On the held connection the session has work only if the ORM began (flush, end).
            if held is None or self.session.sync_session.in_transaction():
                await self.session.commit()
            if held is not None:
                await held.end(commit=True)
        except BaseException:
            self.work_orders.forget_locks(rolled_back=True)
            raise
        self.work_orders.forget_locks()

    async def rollback(self) -> None:
        try:
            held = self._held
            if held is None or self.session.sync_session.in_transaction():
                await self.session.rollback()
            if held is not None:
                await held.end(commit=False)
        finally:
            self.work_orders.forget_locks(rolled_back=True)
