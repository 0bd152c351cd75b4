"""A fake Discord (REST + gateway on 127.0.0.1) for end-to-end tests with the real discord.py.

See docs/testing-with-fake-discord.md.
"""

from .payloads import DEFAULT_BOT_PERMISSIONS, DEFAULT_EVERYONE_PERMISSIONS, Perm
from .records import (
    FailureRule,
    FakeMessage,
    GatewayFrame,
    InteractionResponse,
    RecordedRequest,
    Rejection,
    RequestHook,
)
from .server import ApiError, FakeDiscord, InteractionHandle

__all__ = [
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "ApiError",
    "FailureRule",
    "FakeDiscord",
    "FakeMessage",
    "GatewayFrame",
    "InteractionHandle",
    "InteractionResponse",
    "Perm",
    "RecordedRequest",
    "Rejection",
    "RequestHook",
]
