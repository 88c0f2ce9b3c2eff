"""The product's Twilio HTTP client (bot.delivery.twilio_http), which the doubles' fixtures use
to point the real twilio library at the double."""

from bot.delivery.twilio_http import BaseUrlTwilioHttpClient, basic_auth, form_fields, rewrite_url

__all__ = ["BaseUrlTwilioHttpClient", "basic_auth", "form_fields", "rewrite_url"]
