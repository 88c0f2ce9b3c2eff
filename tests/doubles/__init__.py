"""Local doubles of the Telegram Bot API and the Twilio REST API, served on loopback."""

from .telegram_api import TelegramDouble
from .telegram_world import TelegramCall
from .twilio_api import SentSms, TwilioDouble, WebhookReply
from .twilio_forms import sign, sms_segments
from .twilio_http import BaseUrlTwilioHttpClient

__all__ = [
    "BaseUrlTwilioHttpClient",
    "SentSms",
    "TelegramCall",
    "TelegramDouble",
    "TwilioDouble",
    "WebhookReply",
    "sign",
    "sms_segments",
]
