"""What the fake records: messages, interaction callbacks, requests, rejections, gateway frames."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_COMPONENTS_V2 = 1 << 15
SETTABLE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2


@dataclass(frozen=True)
class FakeMessage:
    """One state of a message. ``fake.messages`` logs one of these per accepted write.

    ``via`` says which write produced this state: ``"channel"`` (POST /channels/{id}/messages),
    ``"interaction"`` (callback type 4), ``"followup"`` (POST /webhooks/{app}/{token}; after a
    deferral the first followup fills the deferred original and keeps its id), ``"edit"``
    (PATCH of a message or callback type 7), ``"user"`` (injected with ``send_user_message``)
    or ``"thread"`` (starter message of a forum thread).
    """

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str
    embeds: list[JSON]
    components: list[JSON]
    flags: int
    nonce: str | None
    via: str
    created_at: float
    interaction_id: int | None = None
    webhook_id: int | None = None
    type: int = 0
    attachments: list[JSON] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    message_reference: JSON | None = None
    edited_at: float | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True for the "thinking..." placeholder of a deferral that was not filled yet."""
        return bool(self.flags & FLAG_LOADING)

    def iter_components(self) -> Iterator[JSON]:
        """Every component, depth first (rows, their children, v2 containers, accessories)."""
        stack = list(reversed(self.components))
        while stack:
            comp = stack.pop()
            yield comp
            for key in ("components", "items"):
                children = comp.get(key)
                if isinstance(children, list) and comp.get("type") != 3:
                    stack.extend(reversed([c for c in children if isinstance(c, dict)]))
            for key in ("component", "accessory"):
                child = comp.get(key)
                if isinstance(child, dict):
                    stack.append(child)

    @property
    def custom_ids(self) -> list[str]:
        return [str(c["custom_id"]) for c in self.iter_components() if c.get("custom_id")]

    def component(self, custom_id: str) -> JSON | None:
        for comp in self.iter_components():
            if comp.get("custom_id") == custom_id:
                return comp
        return None

    @property
    def embed_text(self) -> str:
        """All embed text joined by newlines (handy for ``in`` assertions)."""
        parts: list[str] = []
        for e in self.embeds:
            parts += [str(e.get(k) or "") for k in ("title", "description")]
            for f in e.get("fields") or []:
                parts += [str(f.get("name") or ""), str(f.get("value") or "")]
            parts.append(str((e.get("footer") or {}).get("text") or ""))
            parts.append(str((e.get("author") or {}).get("name") or ""))
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class InteractionResponse:
    """An accepted POST /interactions/{id}/{token}/callback."""

    interaction_id: int
    token: str
    type: int
    data: JSON | None
    time: float
    message_id: int | None = None

    @property
    def choices(self) -> list[JSON]:
        return list((self.data or {}).get("choices") or [])


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    time: float
    status: int
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rejection:
    """A request the fake answered with an error (limits, permissions, injected, unknown...)."""

    method: str
    path: str
    status: int
    code: int
    message: str
    errors: JSON | None
    json: Any
    time: float
    reason: str
    interaction_id: int | None = None

    def error_paths(self) -> list[str]:
        """Flattened error locations, e.g. ``["embeds.0.description"]``."""
        out: list[str] = []

        def walk(node: Any, prefix: str) -> None:
            if not isinstance(node, dict):
                return
            if "_errors" in node:
                out.append(prefix or "<root>")
            for key, child in node.items():
                if key != "_errors":
                    walk(child, f"{prefix}.{key}" if prefix else key)

        walk(self.errors, "")
        return out


@dataclass(frozen=True)
class GatewayFrame:
    direction: str  # "send" (fake -> client) or "recv" (client -> fake)
    op: int
    t: str | None
    s: int | None
    d: Any
    time: float


@dataclass
class FailureRule:
    """An injected failure; see ``FakeDiscord.fail_next``."""

    method: str
    pattern: re.Pattern[str]
    status: int
    retry_after: float
    global_: bool
    times: int | None
    code: int | None = None
    message: str | None = None
    errors: JSON | None = None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method):
            return False
        return self.pattern.search(path) is not None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


@dataclass
class RequestHook:
    """Code run when a request arrives; see ``FakeDiscord.on_request``.

    ``callback(method, path, json)`` runs before Discord acts on the request (``after=False``;
    returning True then drops it: Discord never acts on it, as when the client died while
    sending) or once Discord has acted, before its answer goes out (``after=True``)."""

    method: str
    pattern: re.Pattern[str]
    callback: Callable[[str, str, Any], bool | None]
    after: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method):
            return False
        return self.pattern.search(path) is not None
