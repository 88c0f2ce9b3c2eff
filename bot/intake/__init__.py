"""Intake: from a customer's text message to the facts of a work order (product.md §4)."""

from bot.intake.model import IntakeModel
from bot.intake.parse import QUESTION_KINDS, extract_name, parse_message, parse_reply
from bot.intake.understanding import Understanding

__all__ = [
    "QUESTION_KINDS",
    "IntakeModel",
    "Understanding",
    "extract_name",
    "parse_message",
    "parse_reply",
]
