"""A separate process for race tests: many concurrent accepts or assignments on one database.

python -m tests.race_worker URL NOW accept SEQ TECH N   → prints how many accepts succeeded
python -m tests.race_worker URL NOW assign SEQ...        → assigns each work order concurrently
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

from dispatch.assignment import accept, assign
from dispatch.clock import FixedClock
from storage.db import make_engine, session_factory
from storage.uow import SqlUnitOfWork


async def main(argv: list[str]) -> int:
    url, now, mode, *rest = argv
    engine = make_engine(url)
    sessions = session_factory(engine)
    clock = FixedClock(datetime.fromisoformat(now))

    async def one_accept(seq: int, tech: str) -> bool:
        async with SqlUnitOfWork(sessions) as uow:
            outcome = await accept(uow, clock, seq, tech, channel="sms")
            await uow.commit()
            return outcome.ok

    async def one_assign(seq: int) -> None:
        async with SqlUnitOfWork(sessions) as uow:
            await assign(uow, clock, seq)
            await uow.commit()

    try:
        if mode == "accept":
            seq, tech, n = int(rest[0]), rest[1], int(rest[2])
            results = await asyncio.gather(*(one_accept(seq, tech) for _ in range(n)))
            print(sum(results))
        else:
            await asyncio.gather(*(one_assign(int(s)) for s in rest))
            print(len(rest))
    finally:
        await engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
