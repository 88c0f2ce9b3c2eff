"""Service-level deadlines from the customer's contract and the job's priority."""

from __future__ import annotations

from datetime import datetime, timedelta

from dispatch.company import Company, Contract, Customer

DEFAULT_CONTRACT = "standard"


def contract_for(company: Company, customer: Customer) -> Contract | None:
    """The customer's contract, else the company's `standard` one, else none."""
    wanted = customer.contract or DEFAULT_CONTRACT
    return next((c for c in company.contracts if c.id == wanted), None)


def sla_due(
    company: Company, customer: Customer, priority: str, opened: datetime
) -> datetime | None:
    contract = contract_for(company, customer)
    if contract is None or priority not in contract.response_hours:
        return None
    return opened + timedelta(hours=contract.response_hours[priority])
