"""A local WhatsApp Business Cloud API for tests and benchmarks."""

from tests.waapi.server import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    Phone,
    PhoneMessage,
    WhatsAppCloudServer,
    press,
)

__all__ = [
    "ACCESS_TOKEN",
    "APP_SECRET",
    "PHONE_NUMBER_ID",
    "VERIFY_TOKEN",
    "Phone",
    "PhoneMessage",
    "WhatsAppCloudServer",
    "press",
]
