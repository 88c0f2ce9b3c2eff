"""Customer sign-off (§7): per-job codes and how a customer's reply is read.

A bare "yes" is never a sign-off: on SMS it is also the carrier's opt-in word, and a job
must not be signed off by a customer answering some other question. Only `YES <code>` with
this job's code signs off; `NO ...` reopens the job with the customer's words.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from dispatch.company import CompanySettings
from dispatch.workorder import Status, WorkOrder

CODE_DIGITS = 4
MAX_WRONG_CODES = 5  # then the code is spent: 10,000 codes must not be guessable by SMS
LINK_TTL = timedelta(days=7)  # how long the page link and the code stay usable after DONE
Method = Literal["code", "button", "signature"]
METHODS: tuple[Method, ...] = ("code", "button", "signature")

_YES = re.compile(r"^(?:yes|y|ok|okay|confirm)\b", re.IGNORECASE)
_DIGITS = re.compile(r"\b\d+\b")
_NO = re.compile(r"^no\b[\s,.:;!-]*(?P<words>.*)$", re.IGNORECASE | re.DOTALL)
# Politeness, not a refusal: "no problem, thanks!" must not reopen a finished job.
_NOT_A_NO = re.compile(r"^no\s+(?:problem|prob|worries|worry)\b", re.IGNORECASE)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


@dataclass(frozen=True, slots=True)
class SignedOff:
    """`YES <right code>`."""


@dataclass(frozen=True, slots=True)
class CodeNeeded:
    """A bare yes/ok: ask for the code, sign nothing."""


@dataclass(frozen=True, slots=True)
class WrongCode:
    """`YES <another code>`: refused."""


@dataclass(frozen=True, slots=True)
class Reopen:
    """`NO ...`: the job goes back to work with the customer's words."""

    words: str


@dataclass(frozen=True, slots=True)
class NotAReply:
    """Anything else: not about the sign-off."""


Reply = SignedOff | CodeNeeded | WrongCode | Reopen | NotAReply


def read_reply(text: str, code: str) -> Reply:
    cleaned = text.strip()
    if _YES.match(cleaned) is not None:
        given = _DIGITS.search(cleaned)
        if given is None:
            return CodeNeeded()
        return SignedOff() if codes_match(given[0], code) else WrongCode()
    if _NOT_A_NO.match(cleaned) is None and (no := _NO.match(cleaned)) is not None:
        return Reopen(no["words"].strip())
    return NotAReply()


def codes_match(given: str, code: str) -> bool:
    return hmac.compare_digest(given.encode(), code.encode())


@dataclass(frozen=True, slots=True)
class SignOff:
    """Who signed off, when, how; for the web page also the signature and the browser."""

    at: datetime
    channel: str
    method: Method
    signer: str
    ip: str | None = None
    user_agent: str | None = None
    image_path: str | None = None  # relative to MEDIA_DIR

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}")


def apply_signoff(wo: WorkOrder, signoff: SignOff) -> None:
    """Marks the job signed off, in its timeline; refused unless the job is completed."""
    how = {"code": "with the code", "button": "with the button", "signature": "by signature"}
    wo.transition(
        Status.SIGNED_OFF,
        signoff.at,
        actor=signoff.signer,
        channel=signoff.channel,
        why=f"signed off {how[signoff.method]}",
    )


def apply_reopen(wo: WorkOrder, words: str, at: datetime, *, actor: str, channel: str) -> None:
    """`NO ...`: back to work with the customer's words (verbatim) in the timeline."""
    wo.transition(Status.WORKING, at, actor=actor, channel=channel, why="customer said no")
    wo.record(at, "reopened", words or "(no reason given)", actor=actor, channel=channel)
    # A flag is how a dispatcher hears of it (§8 alerts on flagged jobs).
    wo.raise_flag(f"customer did not sign off: {words or 'no reason given'}", at, actor=actor)


class IssuedInvoice(Protocol):
    @property
    def number(self) -> str: ...


class SignoffRecords(Protocol):
    """What signing off needs stored: the sign-off itself and the invoice it leads to."""

    async def record_signoff(
        self, seq: int, signoff: SignOff, *, token: str | None = None
    ) -> None: ...

    async def issue_invoice(
        self, seq: int, settings: CompanySettings, now: datetime
    ) -> IssuedInvoice: ...


class SavesWorkOrders(Protocol):
    async def save(self, wo: WorkOrder) -> None: ...


async def sign_off(
    wo: WorkOrder,
    signoff: SignOff,
    settings: CompanySettings,
    records: SignoffRecords,
    work_orders: SavesWorkOrders,
    *,
    token: str | None = None,
) -> IssuedInvoice:
    """Completed → signed off → invoiced, in the caller's transaction (§7)."""
    apply_signoff(wo, signoff)
    await records.record_signoff(wo.seq, signoff, token=token)
    invoice = await records.issue_invoice(wo.seq, settings, signoff.at)
    wo.transition(Status.INVOICED, signoff.at, why=f"invoice {invoice.number}")
    await work_orders.save(wo)
    return invoice
