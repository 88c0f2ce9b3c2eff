"""What the bot says. Every template stays within two GSM-7 SMS segments for realistic values
(a test renders each one); longer detail goes behind a link."""

from __future__ import annotations

QUESTIONS = {
    "name": "Thanks for reaching out! What name should we put this under?",
    "skill": "What needs fixing? For example: heating/AC, plumbing, electrical, appliance, "
    "garage door, refrigeration, fire safety or handyman work.",
    "address": "What is the service address? Street and ZIP, please.",
}


def question(kind: str) -> str:
    return QUESTIONS[kind]


def re_ask(kind: str) -> str:
    return "Sorry, I didn't catch that. " + QUESTIONS[kind]


def confirmation(number: str, skill: str, place: str, priority: str, emergency: bool) -> str:
    follow = (
        "We are sending someone now."
        if emergency
        else "We'll text you when a technician is on the way."
    )
    return f"{number}: got it. {skill} at {place}, {priority}. {follow} Reply STATUS anytime."


def handed_to_dispatcher(number: str) -> str:
    return f"Thanks. A dispatcher will contact you shortly about {number}."


def added_to(number: str) -> str:
    return f"Added to {number}. Thanks!"


def no_open_orders() -> str:
    return "You have no open work orders. Text us what needs fixing and where."


def status_line(number: str, skill: str, status: str) -> str:
    return f"{number} {skill}: {status}"


def cancelled(number: str) -> str:
    return f"{number} is cancelled. Text us anytime if you need us again."


def cannot_cancel(number: str, status: str) -> str:
    return f"{number} is already {status}, so it can't be cancelled by text. Call us to change it."


def not_yours(number: str) -> str:
    return f"We couldn't find {number} among your work orders. Reply STATUS to see them."


def help_text(company: str, contact: str) -> str:
    return (
        f"{company}: text what needs fixing and where, and we'll send a technician. "
        f"STATUS lists your jobs, CANCEL WO-1042 cancels one. To reach a person: {contact}. "
        "Reply STOP to opt out."
    )


def stopped(company: str) -> str:
    return f"You're unsubscribed from {company} texts. Reply START to subscribe again."


def started(company: str) -> str:
    return f"You're subscribed to {company} texts again. Text us what needs fixing."


def rate_limited() -> str:
    return "You're sending messages faster than we can read them. Please wait a minute."


def not_understood(role: str) -> str:
    if role == "customer":
        return (
            "Sorry, I didn't get that. Text what needs fixing and where, "
            "or STATUS for your jobs, or HELP."
        )
    return "Sorry, I didn't get that. Send /help to see what you can do here."


def welcome(company: str) -> str:
    return (
        f"Welcome to {company}! Tell us what needs fixing and where, and we'll take it from here."
    )


def media_refused() -> str:
    return "Sorry, we can only keep photos (JPEG, PNG, WebP, HEIC) or PDFs up to 10 MB."


def photo_saved(number: str) -> str:
    return f"Photo added to {number}. Thanks!"


def linked(name: str, role: str) -> str:
    return f"Hi {name}, this chat is now linked to your {role} account. Send /help for more."


def link_refused() -> str:
    return "That code or number doesn't match anyone on our team. Ask your dispatcher for a code."


STAFF_HELP = {
    "technician": "You'll get job offers here. /jobs today's plan, /next, /off, /on, /help.",
    "dispatcher": "Dispatcher commands: /board, /queue, /wo WO-1042, /why WO-1042, /assign, "
    "/reassign, /unassign, /bump, /cancel, /techs, /where, /sla, /note, /approve, /new, /help.",
}


def sorry() -> str:
    return "Sorry, something went wrong on our side. We have your message and will follow up."


def p1_offered(number: str, tech: str, description: str) -> str:
    return f"EMERGENCY {number} offered to {tech}: {description[:80]}"


def offer_withdrawn(number: str, why: str) -> str:
    return f"The offer for {number} was withdrawn: {why}."


def assigned_to_customer(number: str, tech: str, when: str | None) -> str:
    around = f", planned around {when}" if when else ""
    return f"{number}: {tech} will take care of it{around}. We'll text when they're on the way."


def flagged(number: str, reason: str, suggestions: str) -> str:
    return f"{number} needs a dispatcher: {reason}. Suggestions: {suggestions}."


def taken_off(number: str, why: str) -> str:
    return f"{number} was taken off your plan: {why}."


def window_moved(number: str, start: str, end: str) -> str:
    return f"{number}: your visit moved to about {start}-{end}. Sorry for the change."


def map_link(lat: float, lon: float) -> str:
    return f"https://maps.google.com/?q={lat:.5f},{lon:.5f}"


def ask_decline_reason(seq: int) -> str:
    return "Why? One short reason helps us plan (too far, no parts...)."


def decline_reason_noted(seq: int) -> str:
    return f"Thanks, noted for WO-{seq}."


def on_the_way(number: str, tech: str, eta: str) -> str:
    return f"{number}: {tech} is on the way, arriving about {eta}."


def signoff_request(number: str, note: str, parts: str, minutes: int, code: str) -> str:
    return (
        f"{number} is done: {note[:60]}. Parts: {parts[:50]}. "
        f"Time: {minutes // 60}h{minutes % 60:02d}. "
        f"Reply YES {code} to confirm, or NO and what's wrong."
    )


def code_needed(number: str) -> str:
    return f"To sign off {number}, reply YES and the 4-digit code from our message."


def wrong_code(number: str) -> str:
    return f"That code doesn't match {number}. Check our last message and try again."


def reopened(number: str, words: str) -> str:
    return f"{number} reopened by the customer: {words[:100] or 'no reason given'}"


def reopened_to_customer(number: str) -> str:
    return f"Sorry it's not right. {number} is reopened and a dispatcher will contact you."


def signed(number: str, invoice: str, total: str) -> str:
    return f"Thank you! {number} is signed off. Invoice {invoice}: {total}."


def lone_question(number: str) -> str:
    return f"{number}: all OK? Reply OK (or HELP if you need someone)."


def lone_timeout(number: str, tech: str, place: str) -> str:
    return f"LONE WORKER: {tech} did not answer the safety check on {number}. Last known: {place}."
