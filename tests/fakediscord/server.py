# The waiting helpers take ``timeout=`` on purpose: it is the API the tests read best.
# ruff: noqa: ASYNC109
"""A protocol-faithful fake Discord (REST + gateway) that the real discord.py client logs into.

Usage::

    async with FakeDiscord() as fake:
        gid = fake.add_guild("Lab")
        cid = fake.add_channel(gid, "papers")
        uid = fake.add_member(gid, 1001, "alice")
        async with fake.run_client(bot):           # login + connect + wait for on_ready
            await bot.tree.sync()
            handle = await fake.send_slash_command(gid, cid, uid, "echo", {"text": "hi"})
            await handle.wait_for_messages(1)
            assert handle.content == "hi"

See docs/testing-with-fake-discord.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import WSMsgType, web

from . import limits
from .payloads import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    THREAD_TYPES,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    Perm,
    SnowflakeFactory,
    iso,
    new_token,
)
from .records import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    SETTABLE_FLAGS,
    FailureRule,
    FakeMessage,
    GatewayFrame,
    InteractionResponse,
    RecordedRequest,
    Rejection,
    RequestHook,
)

if TYPE_CHECKING:
    import discord

JSON = dict[str, Any]
T = TypeVar("T")

log = logging.getLogger("fakediscord")

# Gateway intents the fake looks at.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Interaction and callback types.
ITYPE_COMMAND, ITYPE_COMPONENT, ITYPE_AUTOCOMPLETE, ITYPE_MODAL = 2, 3, 4, 5
CB_MESSAGE, CB_DEFERRED, CB_DEFERRED_UPDATE, CB_UPDATE, CB_AUTOCOMPLETE, CB_MODAL = 4, 5, 6, 7, 8, 9

ERROR_MESSAGES: dict[int, str] = {
    0: "General error",
    10003: "Unknown Channel",
    10004: "Unknown Guild",
    10007: "Unknown Member",
    10008: "Unknown Message",
    10013: "Unknown User",
    10015: "Unknown Webhook",
    10062: "Unknown interaction",
    10063: "Unknown application command",
    40005: "Request entity too large",
    40060: "Interaction has already been acknowledged.",
    50001: "Missing Access",
    50005: "Cannot edit a message authored by another user",
    50006: "Cannot send an empty message",
    50013: "Missing Permissions",
    50024: "Cannot execute action on this channel type",
    50027: "Invalid Webhook Token",
    50035: "Invalid Form Body",
    50109: "The request body contains invalid JSON.",
    160004: "A thread has already been created for this message",
}
DEFAULT_CODES: dict[int, int] = {400: 50035, 401: 0, 403: 50013, 404: 10003, 413: 40005}

# Option types of application commands.
OPT_SUB, OPT_GROUP, OPT_STRING, OPT_INTEGER, OPT_BOOLEAN = 1, 2, 3, 4, 5
OPT_USER, OPT_CHANNEL, OPT_ROLE, OPT_MENTIONABLE, OPT_NUMBER, OPT_ATTACHMENT = 6, 7, 8, 9, 10, 11


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: int | None = None,
        message: str | None = None,
        *,
        errors: JSON | None = None,
        reason: str = "error",
        headers: Mapping[str, str] | None = None,
        body: JSON | None = None,
    ) -> None:
        self.status = status
        self.code = DEFAULT_CODES.get(status, 0) if code is None else code
        if message is None:
            message = ERROR_MESSAGES.get(self.code) or "Error"
            if status == 401:
                message = "401: Unauthorized"
            elif status >= 500:
                message = "500: Internal Server Error"
        self.message = message
        self.errors = errors
        self.reason = reason
        self.headers = dict(headers or {})
        self.body = body
        super().__init__(f"{status} {self.code} {message}")

    def payload(self) -> JSON:
        if self.body is not None:
            return self.body
        data: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


def json_response(status: int, obj: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py compares the whole header (no "; charset=utf-8").
    out = {"Content-Type": "application/json"}
    out.update(headers or {})
    return web.Response(status=status, body=json.dumps(obj).encode(), headers=out)


@dataclass
class _Request:
    method: str
    path: str
    params: dict[str, str]
    query: Mapping[str, str]
    body: Any
    files: list[tuple[str, str, str | None, bytes]]  # (field, filename, content_type, data)
    headers: Mapping[str, str]
    response_headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[_Request], Awaitable[tuple[int, Any]]]


@dataclass
class _Route:
    method: str
    regex: re.Pattern[str]
    handler: Handler
    auth: bool


@dataclass
class _Interaction:
    id: int
    token: str
    type: int
    payload: JSON
    channel_id: int
    guild_id: int | None
    user_id: int
    created: float
    source_message_id: int | None = None
    responded: bool = False
    response_type: int | None = None
    original_message_id: int | None = None
    deferred_loading: bool = False
    expired: bool = False
    token_expired: bool = False
    message_ids: list[int] = field(default_factory=list)


class _Connection:
    """One gateway websocket; everything it sends goes through one ordered queue."""

    def __init__(self, fake: FakeDiscord, ws: web.WebSocketResponse) -> None:
        self.fake = fake
        self.ws = ws
        self.queue: asyncio.Queue[JSON | int] = asyncio.Queue()
        self.session: _Session | None = None
        self.writer: asyncio.Task[None] | None = None

    def send(self, payload: JSON) -> None:
        self.queue.put_nowait(payload)

    def close(self, code: int) -> None:
        self.queue.put_nowait(code)

    async def run_writer(self) -> None:
        while True:
            item = await self.queue.get()
            if isinstance(item, int):
                await self.ws.close(code=item)
                return
            try:
                await self.ws.send_str(json.dumps(item))
            except (ConnectionResetError, RuntimeError):
                return
            self.fake._log_frame("send", item)


@dataclass
class _Session:
    id: str
    intents: int
    shard: tuple[int, int] | None
    seq: int = 0
    events: list[JSON] = field(default_factory=list)
    conn: _Connection | None = None
    invalid: bool = False


class InteractionHandle:
    """What ``send_slash_command`` / ``send_component_click`` / ... return."""

    def __init__(self, fake: FakeDiscord, interaction: _Interaction) -> None:
        self._fake = fake
        self._i = interaction

    def __repr__(self) -> str:
        return f"<InteractionHandle id={self.id} type={self.type} responded={self.responded}>"

    @property
    def id(self) -> int:
        return self._i.id

    @property
    def token(self) -> str:
        return self._i.token

    @property
    def type(self) -> int:
        return self._i.type

    @property
    def payload(self) -> JSON:
        """The INTERACTION_CREATE ``d`` that was dispatched."""
        return self._i.payload

    @property
    def responded(self) -> bool:
        return self._i.responded

    @property
    def response(self) -> InteractionResponse | None:
        return self._fake.last_response_for(self.id)

    @property
    def messages(self) -> list[FakeMessage]:
        """Every message write made through this interaction (callback, followups, edits)."""
        return [m for m in self._fake.messages if m.interaction_id == self.id]

    @property
    def rejections(self) -> list[Rejection]:
        return [r for r in self._fake.rejections if r.interaction_id == self.id]

    @property
    def original(self) -> FakeMessage | None:
        """Current state of @original (callback message, deferred message or clicked message)."""
        mid = self._i.original_message_id
        return None if mid is None else self._fake.message(mid)

    @property
    def visible_messages(self) -> list[FakeMessage]:
        """Current, non-deleted state of every message this interaction created or edited."""
        out = []
        for mid in self._i.message_ids:
            msg = self._fake.message(mid)
            if msg is not None and not msg.deleted:
                out.append(msg)
        return out

    @property
    def final(self) -> FakeMessage | None:
        """Current state of the message this interaction wrote last (skipping deleted ones)."""
        for snap in reversed(self.messages):
            msg = self._fake.message(snap.id)
            if msg is not None and not msg.deleted:
                return msg
        return None

    @property
    def content(self) -> str:
        msg = self.final
        return "" if msg is None else msg.content

    @property
    def embeds(self) -> list[JSON]:
        msg = self.final
        return [] if msg is None else msg.embeds

    @property
    def components(self) -> list[JSON]:
        msg = self.final
        return [] if msg is None else msg.components

    @property
    def ephemeral(self) -> bool:
        msg = self.final
        return False if msg is None else msg.ephemeral

    @property
    def choices(self) -> list[JSON]:
        """Autocomplete choices (callback type 8)."""
        resp = self.response
        return [] if resp is None else resp.choices

    @property
    def modal(self) -> JSON | None:
        """The modal (callback type 9 ``data``), if one was opened."""
        resp = self.response
        return resp.data if resp is not None and resp.type == CB_MODAL else None

    async def wait_for_response(self, timeout: float = 5.0) -> InteractionResponse:
        """Wait for the first accepted callback."""
        return await self._fake.wait_for(
            lambda: self.response, timeout, f"a callback for interaction {self.id}"
        )

    async def wait_for_messages(self, n: int = 1, timeout: float = 5.0) -> list[FakeMessage]:
        """Wait until ``n`` message writes (callback message + followups + edits) happened."""

        def ready() -> list[FakeMessage] | None:
            msgs = self.messages
            return msgs if len(msgs) >= n else None

        return await self._fake.wait_for(
            ready, timeout, f"{n} message(s) for interaction {self.id}"
        )

    async def wait_for_rejection(self, timeout: float = 5.0) -> Rejection:
        def last() -> Rejection | None:
            found = self.rejections
            return found[-1] if found else None

        return await self._fake.wait_for(last, timeout, f"a rejection for interaction {self.id}")

    async def submit_modal(
        self, values: Mapping[str, str | list[str]], *, user_id: int | None = None
    ) -> InteractionHandle:
        """Submit the modal this interaction opened (type 5 interaction)."""
        return await self._fake.send_modal_submit(self, values, user_id=user_id)


class FakeDiscord:
    """Fake Discord REST API + gateway on 127.0.0.1 (random port)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        token: str | None = None,
        bot_name: str = "paperbot",
        heartbeat_interval_ms: int = 1000,
        interaction_deadline: float = 3.0,
        nonce_window: float = 300.0,
        nonce_scope: str = "author",
        channel_message_rate: tuple[int, float] | None = None,
        attachment_size_limit: int = 10 * 1024 * 1024,
        enabled_privileged_intents: int = PRIVILEGED_INTENTS,
        application_flags: int = 0,
    ) -> None:
        self.host = host
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline
        self.nonce_window = nonce_window
        if nonce_scope not in ("author", "channel"):
            raise ValueError("nonce_scope must be 'author' or 'channel'")
        self.nonce_scope = nonce_scope
        self.channel_message_rate = channel_message_rate
        self.attachment_size_limit = attachment_size_limit
        self.enabled_privileged_intents = enabled_privileged_intents
        self.application_flags = application_flags

        self.ids = SnowflakeFactory()
        self.bot_user = FakeUser(self.ids.next(), bot_name, bot=True)
        self.application_id = self.bot_user.id
        self.owner = FakeUser(self.ids.next(), "app-owner")
        self.users: dict[int, FakeUser] = {
            self.bot_user.id: self.bot_user,
            self.owner.id: self.owner,
        }
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}

        # Recorded state.
        self.commands: list[JSON] = []
        self.guild_commands: dict[int, list[JSON]] = {}
        self.messages: list[FakeMessage] = []
        self.interaction_responses: list[InteractionResponse] = []
        self.requests: list[RecordedRequest] = []
        self.rejections: list[Rejection] = []
        self.gateway_log: list[GatewayFrame] = []
        self.presence_updates: list[JSON] = []
        self.reactions: list[tuple[int, int, str]] = []  # (channel_id, message_id, emoji)
        self.identify_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0
        self.failures: list[FailureRule] = []
        self.hooks: list[RequestHook] = []

        self._store: dict[int, FakeMessage] = {}
        self._origin: dict[int, int] = {}  # message id -> interaction that created it
        self._nonces: dict[tuple[int, int, str], tuple[int, float]] = {}
        self._rate_windows: dict[int, list[float]] = {}
        self._interactions: dict[int, _Interaction] = {}
        self._by_token: dict[str, _Interaction] = {}
        self._sessions: dict[str, _Session] = {}
        self._session: _Session | None = None
        self._connections: set[_Connection] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._routes: list[_Route] = []
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.last_interaction: InteractionHandle | None = None
        self._register_routes()

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    async def start(self) -> FakeDiscord:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        for path in ("/gateway", "/gateway/", "/"):
            app.router.add_route("GET", path, self._gateway_handler)
        app.router.add_route("*", "/{tail:.*}", self._rest_handler)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        return self

    async def stop(self) -> None:
        for conn in list(self._connections):
            conn.close(1001)
        for conn in list(self._connections):
            if conn.writer is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(conn.writer), 1.0)
                conn.writer.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for fut in self._waiters:
            fut.cancel()
        self._waiters.clear()

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def configure_client(self) -> Iterator[FakeDiscord]:
        """Point discord.py at this fake (Route.BASE, DEFAULT_GATEWAY); restore on exit."""
        import yarl
        from discord.gateway import DiscordWebSocket
        from discord.http import Route

        old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
        Route.BASE = self.api_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield self
        finally:
            Route.BASE = old_base
            DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    @contextlib.asynccontextmanager
    async def run_client(
        self,
        client: discord.Client,
        *,
        token: str | None = None,
        ready_timeout: float = 10.0,
        configure: bool = True,
    ) -> AsyncIterator[discord.Client]:
        """Log ``client`` in, connect it, wait for ``on_ready``; close it cleanly on exit.

        Pass ``configure=False`` when the code under test sets Route.BASE/DEFAULT_GATEWAY itself.
        """
        cm: contextlib.AbstractContextManager[Any] = (
            self.configure_client() if configure else contextlib.nullcontext()
        )
        with cm:
            try:
                await client.login(token or self.token or "fake-bot-token")
            except BaseException:
                await client.close()  # login failed: still close the client's HTTP session
                raise
            runner = asyncio.create_task(client.connect(reconnect=True), name="fakediscord-client")
            ready = asyncio.create_task(client.wait_until_ready(), name="fakediscord-ready")
            try:
                done, _ = await asyncio.wait(
                    {runner, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if ready not in done:
                    if runner in done:
                        runner.result()  # raises the connection error
                    raise TimeoutError(f"client not ready after {ready_timeout}s")
                yield client
            finally:
                ready.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ready
                await client.close()
                try:
                    await asyncio.wait_for(runner, 5.0)
                except asyncio.CancelledError:
                    pass
                except Exception:
                    log.debug("client task ended with an error", exc_info=True)

    # ------------------------------------------------------------------ waiting

    def _changed(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 5.0,
        what: str = "condition",
        *,
        poll: float = 0.05,
    ) -> T:
        """Wait until ``predicate()`` returns something truthy.

        Re-checked after every change the fake records, and every ``poll`` seconds so that
        predicates over the client's own state work too."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(self._timeout_report(what, timeout))
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fut, min(remaining, poll))

    def _timeout_report(self, what: str, timeout: float) -> str:
        reqs = "\n".join(
            f"  {r.status} {r.method} {r.path} {json.dumps(r.json)[:200] if r.json else ''}"
            for r in self.requests[-8:]
        )
        rej = "\n".join(
            f"  {r.status} {r.code} {r.method} {r.path} {r.reason}: {r.message} {r.error_paths()}"
            for r in self.rejections[-5:]
        )
        return (
            f"timed out after {timeout}s waiting for {what}\n"
            f"last requests:\n{reqs or '  (none)'}\nlast rejections:\n{rej or '  (none)'}"
        )

    async def wait_until_identified(self, timeout: float = 5.0) -> str:
        """Wait until a client has IDENTIFIED and has a live connection; returns session_id."""

        def ready() -> str | None:
            s = self._session
            return s.id if s is not None and s.conn is not None else None

        return await self.wait_for(ready, timeout, "a gateway IDENTIFY")

    async def wait_for_rejection(
        self, predicate: Callable[[Rejection], bool] | None = None, timeout: float = 5.0
    ) -> Rejection:
        start = len(self.rejections)

        def found() -> Rejection | None:
            for rej in self.rejections[start:]:
                if predicate is None or predicate(rej):
                    return rej
            return None

        return await self.wait_for(found, timeout, "a rejection")

    async def wait_for_message(
        self, predicate: Callable[[FakeMessage], bool] | None = None, timeout: float = 5.0
    ) -> FakeMessage:
        """Wait for a new message write (from now on) matching ``predicate``."""
        start = len(self.messages)

        def found() -> FakeMessage | None:
            for msg in self.messages[start:]:
                if predicate is None or predicate(msg):
                    return msg
            return None

        return await self.wait_for(found, timeout, "a message")

    # ------------------------------------------------------------------ queries

    def message(self, message_id: int) -> FakeMessage | None:
        """Current state of a message (``deleted=True`` once deleted)."""
        return self._store.get(int(message_id))

    def messages_in(
        self, channel_id: int, *, include_ephemeral: bool = True, include_deleted: bool = False
    ) -> list[FakeMessage]:
        """Current state of the messages of a channel, oldest first."""
        out = [
            m
            for m in self._store.values()
            if m.channel_id == channel_id
            and (include_deleted or not m.deleted)
            and (include_ephemeral or not m.ephemeral)
        ]
        return sorted(out, key=lambda m: m.id)

    def last_response_for(self, interaction_id: int) -> InteractionResponse | None:
        for resp in reversed(self.interaction_responses):
            if resp.interaction_id == interaction_id:
                return resp
        return None

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    def command(self, name: str, guild_id: int | None = None) -> JSON | None:
        """A synced command by name: guild commands of ``guild_id`` first, then global."""
        pools = [self.guild_commands.get(guild_id, [])] if guild_id is not None else []
        pools.append(self.commands)
        for pool in pools:
            for cmd in pool:
                if cmd["name"] == name and int(cmd.get("type", 1)) == 1:
                    return cmd
        return None

    # ------------------------------------------------------------------ model building

    def add_guild(
        self,
        name: str = "Test Guild",
        *,
        guild_id: int | None = None,
        owner_id: int | None = None,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
    ) -> int:
        gid = guild_id or self.ids.next()
        guild = FakeGuild(id=gid, name=name, owner_id=owner_id or self.owner.id)
        guild.roles[gid] = FakeRole(gid, "@everyone", everyone_permissions, 0)
        bot_role = FakeRole(self.ids.next(), self.bot_user.username, bot_permissions, 1, True)
        guild.roles[bot_role.id] = bot_role
        guild.bot_role_id = bot_role.id
        guild.members[self.bot_user.id] = FakeMember(
            self.bot_user, gid, bot_permissions, roles=[bot_role.id]
        )
        if guild.owner_id not in self.users:
            self.users[guild.owner_id] = FakeUser(guild.owner_id, "guild-owner")
        guild.members.setdefault(
            guild.owner_id, FakeMember(self.users[guild.owner_id], gid, Perm.ALL)
        )
        self.guilds[gid] = guild
        if self._session is not None and self._in_shard(self._session, gid):
            self._dispatch("GUILD_CREATE", self._guild_create_payload(guild, self._session))
        return gid

    def add_role(self, guild_id: int, name: str, permissions: int) -> int:
        guild = self._guild(guild_id)
        role = FakeRole(self.ids.next(), name, permissions, len(guild.roles))
        guild.roles[role.id] = role
        return role.id

    def add_channel(
        self,
        guild_id: int,
        name: str,
        *,
        bot_can_post: bool = True,
        type: int = 0,
        parent_id: int | None = None,
        topic: str | None = None,
        channel_id: int | None = None,
    ) -> int:
        """Add a channel (type 0 text by default; 4 category, 5 news, 15 forum, 11/12 thread)."""
        guild = self._guild(guild_id)
        if type in THREAD_TYPES and parent_id is None:
            raise ValueError("a thread needs parent_id")
        cid = channel_id or self.ids.next()
        position = sum(1 for c in guild.channels if not self.channels[c].is_thread)
        channel = FakeChannel(
            id=cid,
            guild_id=guild_id,
            name=name,
            type=type,
            position=position,
            parent_id=parent_id,
            topic=topic,
            bot_can_post=bot_can_post,
            owner_id=self.bot_user.id if type in THREAD_TYPES else None,
        )
        self.channels[cid] = channel
        guild.channels.append(cid)
        if self._session is not None and self._in_shard(self._session, guild_id):
            event = "THREAD_CREATE" if channel.is_thread else "CHANNEL_CREATE"
            self._dispatch(event, self._channel_payload(channel))
        return cid

    def add_thread(self, parent_id: int, name: str, *, type: int = 11) -> int:
        parent = self._channel(parent_id)
        assert parent.guild_id is not None
        return self.add_channel(parent.guild_id, name, type=type, parent_id=parent_id)

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        name: str,
        permissions: int | None = None,
        *,
        roles: Iterable[int] = (),
    ) -> int:
        """Add a (human) member. ``permissions`` are their guild permissions; by default
        @everyone's. Returns the user id."""
        guild = self._guild(guild_id)
        user = self.users.get(user_id) or FakeUser(user_id, name)
        self.users[user_id] = user
        role_ids = list(roles)
        perms = guild.everyone_role.permissions
        if permissions is not None:
            role = FakeRole(self.ids.next(), f"{name}-role", permissions, len(guild.roles))
            guild.roles[role.id] = role
            role_ids.append(role.id)
            perms = permissions
        for rid in roles:
            perms |= guild.roles[rid].permissions
        member = FakeMember(user, guild_id, perms, roles=role_ids)
        guild.members[user_id] = member
        session = self._session
        if session is not None and session.intents & INTENT_GUILD_MEMBERS:
            self._dispatch("GUILD_MEMBER_ADD", {**member.payload(), "guild_id": str(guild_id)})
        return user_id

    def add_user(self, user_id: int, name: str) -> int:
        self.users[user_id] = FakeUser(user_id, name)
        return user_id

    def set_channel_access(self, channel_id: int, allowed: bool = False) -> None:
        """``allowed=False``: every REST call on the channel answers 403 50001 Missing Access."""
        self._channel(channel_id).accessible = allowed

    def set_bot_can_post(self, channel_id: int, allowed: bool) -> None:
        """Toggle the bot's SEND_MESSAGES overwrite (REST then answers 403 50013)."""
        channel = self._channel(channel_id)
        channel.bot_can_post = allowed
        if self._session is not None:
            self._dispatch("CHANNEL_UPDATE", self._channel_payload(channel))

    def set_role_permissions(self, guild_id: int, role_id: int, permissions: int) -> None:
        """Change a role's permissions (the client hears GUILD_ROLE_UPDATE); the guild's id is
        its @everyone role's, ``bot_role_id`` the bot's own role's."""
        role = self.guilds[guild_id].roles[role_id]
        role.permissions = permissions
        if self._session is not None:
            self._dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(guild_id), "role": role.payload()})

    def delete_channel(self, channel_id: int, *, notify: bool = False) -> None:
        """The channel is gone: REST answers 404 10003. ``notify`` also sends CHANNEL_DELETE
        (the real Discord would); by default the client's cache stays stale."""
        channel = self._channel(channel_id)
        channel.deleted = True
        if notify and self._session is not None:
            event = "THREAD_DELETE" if channel.is_thread else "CHANNEL_DELETE"
            self._dispatch(event, self._channel_payload(channel))

    def expire_interaction(self, interaction: InteractionHandle | int) -> None:
        """Make the 3 s callback window elapse now (callback then answers 404 10062)."""
        self._interaction_of(interaction).expired = True

    def expire_token(self, interaction: InteractionHandle | int) -> None:
        """Make the 15 min token elapse (followups/edits then answer 401 50027)."""
        self._interaction_of(interaction).token_expired = True

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 429,
        retry_after: float = 0.05,
        global_: bool = False,
        times: int | None = 1,
        *,
        code: int | None = None,
        message: str | None = None,
        errors: JSON | None = None,
    ) -> FailureRule:
        """Answer the next ``times`` requests matching (``method`` or "*", ``re.search`` on the
        path after /api/v10) with ``status``. 429s carry Via, retry_after/global and
        X-RateLimit-* so discord.py retries. ``times=None`` fails forever."""
        rule = FailureRule(
            method=method.upper(),
            pattern=re.compile(path_regex),
            status=status,
            retry_after=retry_after,
            global_=global_,
            times=times,
            code=code,
            message=message,
            errors=errors,
        )
        self.failures.append(rule)
        return rule

    def clear_failures(self) -> None:
        self.failures.clear()

    def on_request(
        self,
        method: str,
        path_regex: str,
        callback: Callable[[str, str, Any], bool | None],
        *,
        after: bool = False,
    ) -> RequestHook:
        """Run ``callback(method, path, json)`` for every request matching (``method`` or "*",
        ``re.search`` on the path after /api/v10): before Discord acts on it, dropping it when
        the callback returns True (the client died mid-request: nothing is created, no answer
        is read), or with ``after`` once Discord has acted and before the answer goes out (the
        client dies before it learns the outcome). Remove it with ``hooks.remove``."""
        hook = RequestHook(method.upper(), re.compile(path_regex), callback, after)
        self.hooks.append(hook)
        return hook

    def _injected_error(self, rule: FailureRule) -> ApiError:
        if rule.status == 429:
            ra = rule.retry_after
            body: JSON = {
                "message": rule.message or "You are being rate limited.",
                "retry_after": ra,
                "global": rule.global_,
                "code": rule.code if rule.code is not None else 0,
            }
            headers = {
                "Via": "1.1 google",
                "Retry-After": str(max(1, math.ceil(ra))),
                "X-RateLimit-Scope": "global" if rule.global_ else "user",
            }
            if rule.global_:
                headers["X-RateLimit-Global"] = "true"
            else:
                headers.update(
                    {
                        "X-RateLimit-Limit": "5",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": f"{time.time() + ra:.3f}",
                        "X-RateLimit-Reset-After": f"{ra:.3f}",
                        "X-RateLimit-Bucket": "fake-" + secrets.token_hex(8),
                    }
                )
            return ApiError(
                429, body["code"], body["message"], headers=headers, body=body, reason="injected"
            )
        return ApiError(rule.status, rule.code, rule.message, errors=rule.errors, reason="injected")

    # ------------------------------------------------------------------ gateway

    def _log_frame(self, direction: str, payload: JSON) -> None:
        self.gateway_log.append(
            GatewayFrame(
                direction,
                int(payload.get("op", -1)),
                payload.get("t"),
                payload.get("s"),
                payload.get("d"),
                time.time(),
            )
        )

    def _in_shard(self, session: _Session, guild_id: int) -> bool:
        if session.shard is None:
            return True
        shard_id, count = session.shard
        return (guild_id >> 22) % count == shard_id

    def _dispatch(self, event: str, data: JSON, session: _Session | None = None) -> int:
        session = session or self._session
        if session is None:
            raise RuntimeError("no gateway session: has the client connected (IDENTIFY)?")
        session.seq += 1
        payload = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        if session.conn is not None:
            session.conn.send(payload)
        return session.seq

    async def dispatch_event(self, event: str, data: JSON) -> int:
        """Send an arbitrary DISPATCH event to the connected client; returns its sequence."""
        await self.wait_until_identified()
        return self._dispatch(event, data)

    def reconnect_client(self) -> None:
        """Send op 7 RECONNECT: the client reconnects to resume_gateway_url and RESUMEs."""
        session = self._session
        if session is None or session.conn is None:
            raise RuntimeError("no connected client")
        session.conn.send({"op": 7, "d": None})

    def close_gateway(self, code: int = 4000) -> None:
        """Close the client's websocket from the server side (4000: client resumes)."""
        session = self._session
        if session is None or session.conn is None:
            raise RuntimeError("no connected client")
        session.conn.close(code)

    def invalidate_session(self) -> None:
        """The next RESUME of the current session gets op 9 (d=false): client re-IDENTIFIES."""
        if self._session is not None:
            self._session.invalid = True

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        if not web.WebSocketResponse().can_prepare(request).ok:
            return await self._rest_handler(request)
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        conn = _Connection(self, ws)
        self._connections.add(conn)
        conn.writer = asyncio.create_task(conn.run_writer(), name="fakediscord-gw-writer")
        conn.send(
            {
                "op": 10,
                "s": None,
                "t": None,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms},
            }
        )
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(conn, json.loads(msg.data))
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
            if conn.writer is not None and not conn.writer.done():
                conn.writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await conn.writer
            self._connections.discard(conn)
            self._changed()
        return ws

    async def _on_frame(self, conn: _Connection, frame: JSON) -> None:
        self._log_frame("recv", frame)
        op = frame.get("op")
        d = frame.get("d")
        if op == 1:
            self.heartbeat_count += 1
            conn.send({"op": 11, "s": None, "t": None, "d": None})
            return
        if op == 2:
            self._identify(conn, d or {})
        elif op == 6:
            self._resume(conn, d or {})
        elif conn.session is None:
            conn.close(4003)  # Not authenticated
        elif op == 3:
            self.presence_updates.append(d or {})
        elif op == 8:
            self._request_members(conn, d or {})
        elif op == 4:
            pass  # voice state update: no voice here
        else:
            conn.close(4001)  # Unknown opcode
        self._changed()

    def _identify(self, conn: _Connection, d: JSON) -> None:
        if conn.session is not None:
            conn.close(4005)  # Already authenticated
            return
        if not d.get("token") or (self.token is not None and d.get("token") != self.token):
            conn.close(4004)  # Authentication failed
            return
        intents = int(d.get("intents") or 0)
        if intents & PRIVILEGED_INTENTS & ~self.enabled_privileged_intents:
            conn.close(4014)  # Disallowed intent(s)
            return
        shard = d.get("shard")
        session = _Session(
            id=secrets.token_hex(16),
            intents=intents,
            shard=(int(shard[0]), int(shard[1])) if shard else None,
        )
        session.conn = conn
        conn.session = session
        self._sessions[session.id] = session
        self._session = session
        self.identify_count += 1
        guilds = [g for g in self.guilds.values() if self._in_shard(session, g.id)]
        ready: JSON = {
            "v": 10,
            "user": {**self.bot_user.payload(), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": [],
            "_trace": ['["fakediscord",{"micros":0}]'],
        }
        if session.shard is not None:
            ready["shard"] = list(session.shard)
        self._dispatch("READY", ready, session)
        for guild in guilds:
            self._dispatch("GUILD_CREATE", self._guild_create_payload(guild, session), session)

    def _resume(self, conn: _Connection, d: JSON) -> None:
        session = self._sessions.get(str(d.get("session_id")))
        token_ok = bool(d.get("token")) and (self.token is None or d.get("token") == self.token)
        if session is None or session.invalid or not token_ok:
            conn.send({"op": 9, "s": None, "t": None, "d": False})
            return
        if session.conn is not None and session.conn is not conn:
            session.conn.close(4000)
        session.conn = conn
        conn.session = session
        seq = d.get("seq") or 0
        for event in session.events:
            if int(event["s"]) > int(seq):
                conn.send(event)
        self.resume_count += 1
        self._dispatch("RESUMED", {"_trace": ['["fakediscord",{"micros":0}]']}, session)

    def _request_members(self, conn: _Connection, d: JSON) -> None:
        gid = int(d.get("guild_id") or 0)
        guild = self.guilds.get(gid)
        if guild is None:
            return
        members = list(guild.members.values())
        query = d.get("query")
        if d.get("user_ids"):
            wanted = {int(u) for u in d["user_ids"]}
            members = [m for m in members if m.user.id in wanted]
        elif query:
            members = [m for m in members if m.user.username.lower().startswith(query.lower())]
        limit = int(d.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: JSON = {
            "guild_id": str(gid),
            "members": [m.payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        assert conn.session is not None
        self._dispatch("GUILD_MEMBERS_CHUNK", chunk, conn.session)

    def _guild_create_payload(self, guild: FakeGuild, session: _Session) -> JSON:
        data = guild.payload()
        channels = [self.channels[c] for c in guild.channels if not self.channels[c].deleted]
        if session.intents & INTENT_GUILD_MEMBERS:
            members = list(guild.members.values())
        else:
            members = [guild.members[self.bot_user.id]]
        data.update(
            {
                "joined_at": iso(guild.joined_at),
                "large": False,
                "unavailable": False,
                "channels": [self._channel_payload(c) for c in channels if not c.is_thread],
                "threads": [
                    self._channel_payload(c) for c in channels if c.is_thread and not c.archived
                ],
                "members": [m.payload() for m in members],
                "voice_states": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
            }
        )
        return data

    # ------------------------------------------------------------------ driving interactions

    async def send_slash_command(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        name: str,
        options: Mapping[str, Any] | list[JSON] | None = None,
        *,
        subcommand_group: str | None = None,
        subcommand: str | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
        require_synced: bool = True,
    ) -> InteractionHandle:
        """Dispatch an application command (type 2) like Discord does.

        ``name`` may hold the whole path ("papers search"); ``options`` is ``{name: value}``
        or a list of ``{"name", "value"}``; option types come from the synced command.
        ``guild_id=None`` sends it from a DM with ``user_id``.
        """
        data = self._command_data(
            guild_id, name, options, subcommand_group, subcommand, require_synced, focused=None
        )
        return await self._send_interaction(
            ITYPE_COMMAND, guild_id, channel_id, user_id, data, permissions, locale
        )

    async def send_autocomplete(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        name: str,
        options: Mapping[str, Any] | list[JSON] | None = None,
        *,
        focused: str,
        subcommand_group: str | None = None,
        subcommand: str | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
        timeout: float = 5.0,
    ) -> list[JSON]:
        """Dispatch an autocomplete interaction (type 4, ``focused`` option marked) and return
        the choices of the type 8 callback. The handle is in ``fake.last_interaction``."""
        data = self._command_data(
            guild_id, name, options, subcommand_group, subcommand, True, focused=focused
        )
        handle = await self._send_interaction(
            ITYPE_AUTOCOMPLETE, guild_id, channel_id, user_id, data, permissions, locale
        )
        resp = await handle.wait_for_response(timeout)
        return resp.choices

    async def send_component_click(
        self,
        message: FakeMessage | int,
        custom_id: str,
        user_id: int,
        *,
        values: list[str] | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Click a button (or choose ``values`` in a select) of a recorded message (type 3)."""
        mid = message.id if isinstance(message, FakeMessage) else int(message)
        msg = self.message(mid)
        if msg is None or msg.deleted:
            raise LookupError(f"message {mid} is unknown or deleted")
        comp = msg.component(custom_id)
        if comp is None:
            raise LookupError(f"message {mid} has no component {custom_id!r}: {msg.custom_ids}")
        data: JSON = {"custom_id": custom_id, "component_type": int(comp.get("type", 2))}
        if comp.get("type") in (3, 5, 6, 7, 8):
            data["values"] = list(values or [])
        elif values is not None:
            raise ValueError("values only apply to select menus")
        return await self._send_interaction(
            ITYPE_COMPONENT,
            msg.guild_id,
            msg.channel_id,
            user_id,
            data,
            permissions,
            locale,
            source=msg,
        )

    async def send_modal_submit(
        self,
        opened_by: InteractionHandle,
        values: Mapping[str, str | list[str]],
        *,
        user_id: int | None = None,
    ) -> InteractionHandle:
        """Submit the modal that ``opened_by`` answered with (callback type 9)."""
        modal = opened_by.modal
        if modal is None:
            raise LookupError(f"interaction {opened_by.id} did not open a modal")

        def leaf(c: JSON) -> JSON | None:
            cid = c.get("custom_id")
            if cid is None:
                return None
            if c.get("type") == 4:
                return {"type": 4, "custom_id": cid, "value": values.get(cid, c.get("value") or "")}
            return {"type": c.get("type"), "custom_id": cid, "values": list(values.get(cid, []))}

        components: list[JSON] = []
        for c in modal.get("components") or []:
            if c.get("type") == 1:
                children = [x for x in (leaf(k) for k in c.get("components") or []) if x]
                components.append({"type": 1, "components": children})
            elif c.get("type") == 18 and isinstance(c.get("component"), dict):
                child = leaf(c["component"])
                if child is not None:
                    components.append({"type": 18, "component": child})
        data = {"custom_id": modal.get("custom_id"), "components": components}
        src = opened_by._i
        source = self.message(src.source_message_id) if src.source_message_id else None
        return await self._send_interaction(
            ITYPE_MODAL,
            src.guild_id,
            src.channel_id,
            user_id or src.user_id,
            data,
            None,
            str(src.payload.get("locale", "en-US")),
            source=source,
        )

    def _command_data(
        self,
        guild_id: int | None,
        name: str,
        options: Mapping[str, Any] | list[JSON] | None,
        subcommand_group: str | None,
        subcommand: str | None,
        require_synced: bool,
        focused: str | None,
    ) -> JSON:
        parts = name.strip().lstrip("/").split()
        root, path = parts[0], parts[1:]
        if subcommand_group:
            path.append(subcommand_group)
        if subcommand:
            path.append(subcommand)
        cmd = self.command(root, guild_id)
        if cmd is None and require_synced:
            known = [c["name"] for c in self.commands] + [
                c["name"] for c in self.guild_commands.get(guild_id or 0, [])
            ]
            raise LookupError(f"/{root} is not synced (synced: {known}); call tree.sync() first")
        schema: list[JSON] | None = None if cmd is None else list(cmd.get("options") or [])
        chain: list[tuple[str, int]] = []
        for part in path:
            opt = None
            if schema is not None:
                opt = next((o for o in schema if o["name"] == part and o["type"] in (1, 2)), None)
                if opt is None:
                    raise LookupError(f"/{root} has no subcommand (group) {part!r}")
                schema = list(opt.get("options") or [])
            chain.append((part, int(opt["type"]) if opt else OPT_SUB))
        resolved: JSON = {}
        leaf_options = self._build_options(guild_id, schema, options, focused, resolved)
        nested = leaf_options
        for part, otype in reversed(chain):
            nested = [{"type": otype, "name": part, "options": nested}]
        data: JSON = {
            "id": str(cmd["id"]) if cmd else str(self.ids.next()),
            "name": root,
            "type": 1,
        }
        if nested:  # Discord leaves "options" out when there are none
            data["options"] = nested
        if cmd is not None and cmd.get("guild_id"):
            data["guild_id"] = str(cmd["guild_id"])
        if resolved:
            data["resolved"] = resolved
        return data

    def _build_options(
        self,
        guild_id: int | None,
        schema: list[JSON] | None,
        options: Mapping[str, Any] | list[JSON] | None,
        focused: str | None,
        resolved: JSON,
    ) -> list[JSON]:
        if options is None:
            pairs: list[tuple[str, Any]] = []
        elif isinstance(options, Mapping):
            pairs = list(options.items())
        else:
            pairs = [(str(o["name"]), o.get("value")) for o in options]
        by_name = {o["name"]: o for o in schema or []}
        out: list[JSON] = []
        for opt_name, value in pairs:
            spec = by_name.get(opt_name)
            if schema is not None and spec is None:
                raise ValueError(f"unknown option {opt_name!r}; known: {sorted(by_name)}")
            otype = int(spec["type"]) if spec else _guess_option_type(value)
            is_focused = opt_name == focused
            item: JSON = {"name": opt_name, "type": otype, "value": value}
            if is_focused:
                item["focused"] = True
                item["value"] = "" if value is None else str(value)
            elif otype in (OPT_USER, OPT_CHANNEL, OPT_ROLE, OPT_MENTIONABLE):
                item["value"] = str(int(value))
                self._resolve(guild_id, otype, int(value), resolved)
            elif otype == OPT_INTEGER:
                item["value"] = int(value)
            elif otype == OPT_NUMBER:
                item["value"] = float(value)
            elif otype == OPT_BOOLEAN:
                item["value"] = bool(value)
            elif otype == OPT_STRING:
                item["value"] = str(value)
            out.append(item)
        if focused is not None and focused not in {o["name"] for o in out}:
            out.append({"name": focused, "type": OPT_STRING, "value": "", "focused": True})
            if focused in by_name:
                out[-1]["type"] = int(by_name[focused]["type"])
        if schema is not None and focused is None:
            given = {o["name"] for o in out}
            missing = [o["name"] for o in schema if o.get("required") and o["name"] not in given]
            if missing:
                raise ValueError(f"missing required option(s): {missing}")
        return out

    def _resolve(self, guild_id: int | None, otype: int, oid: int, resolved: JSON) -> None:
        guild = self.guilds.get(guild_id or 0)
        if otype in (OPT_USER, OPT_MENTIONABLE) and oid in self.users:
            resolved.setdefault("users", {})[str(oid)] = self.users[oid].payload()
            if guild is not None and oid in guild.members:
                member = guild.members[oid]
                resolved.setdefault("members", {})[str(oid)] = {
                    **member.payload(with_user=False),
                    "permissions": str(guild.base_permissions(oid)),
                }
            return
        if otype in (OPT_ROLE, OPT_MENTIONABLE) and guild is not None and oid in guild.roles:
            resolved.setdefault("roles", {})[str(oid)] = guild.roles[oid].payload()
            return
        if otype == OPT_CHANNEL and oid in self.channels:
            ch = self.channels[oid]
            resolved.setdefault("channels", {})[str(oid)] = {
                **self._channel_payload(ch),
                "permissions": str(self._bot_permissions(ch)),
            }
            return
        raise LookupError(f"option value {oid} does not resolve to a known object (type {otype})")

    async def _send_interaction(
        self,
        itype: int,
        guild_id: int | None,
        channel_id: int | None,
        user_id: int,
        data: JSON,
        permissions: int | None,
        locale: str,
        *,
        source: FakeMessage | None = None,
    ) -> InteractionHandle:
        await self.wait_until_identified()
        user = self.users.get(user_id)
        if user is None:
            raise LookupError(f"unknown user {user_id}: add_member()/add_user() first")
        iid = self.ids.next()
        token = new_token("aW50ZXJhY3Rpb24")
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "token": token,
            "version": 1,
            "attachment_size_limit": self.attachment_size_limit,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "data": data,
        }
        if guild_id is not None:
            guild = self._guild(guild_id)
            member = guild.members.get(user_id)
            if member is None:
                raise LookupError(f"user {user_id} is not a member of guild {guild_id}")
            if channel_id is None:
                raise ValueError("channel_id is required for a guild interaction")
            channel = self._channel(channel_id)
            perms = guild.base_permissions(user_id) if permissions is None else permissions
            payload.update(
                {
                    "guild_id": str(guild_id),
                    "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
                    "guild_locale": "en-US",
                    "channel_id": str(channel_id),
                    "channel": {**self._channel_payload(channel), "permissions": str(perms)},
                    "member": {**member.payload(), "permissions": str(perms)},
                    "app_permissions": str(self._bot_permissions(channel)),
                    "authorizing_integration_owners": {"0": str(guild_id)},
                    "context": 0,
                }
            )
        else:
            channel = self._dm_channel(user)
            channel_id = channel.id
            payload.update(
                {
                    "channel_id": str(channel.id),
                    "channel": self._channel_payload(channel),
                    "user": user.payload(),
                    "app_permissions": str(Perm.ALL & ~Perm.ADMINISTRATOR),
                    "authorizing_integration_owners": {"0": str(self.application_id)},
                    "context": 1,
                }
            )
        if source is not None:
            payload["message"] = self._message_payload(source)
        interaction = _Interaction(
            id=iid,
            token=token,
            type=itype,
            payload=payload,
            channel_id=channel_id,
            guild_id=guild_id,
            user_id=user_id,
            created=asyncio.get_running_loop().time(),
            source_message_id=source.id if source else None,
        )
        self._interactions[iid] = interaction
        self._by_token[token] = interaction
        handle = InteractionHandle(self, interaction)
        self.last_interaction = handle
        self._dispatch("INTERACTION_CREATE", payload)
        return handle

    def _interaction_of(self, interaction: InteractionHandle | int) -> _Interaction:
        iid = interaction.id if isinstance(interaction, InteractionHandle) else int(interaction)
        return self._interactions[iid]

    async def send_user_message(
        self, channel_id: int, user_id: int, content: str, *, embeds: list[JSON] | None = None
    ) -> FakeMessage:
        """A human posts in a channel (MESSAGE_CREATE is dispatched if the intents ask)."""
        channel = self._channel(channel_id)
        return self._create_message(
            channel,
            {"content": content, "embeds": embeds or []},
            via="user",
            author_id=user_id,
        )

    # ------------------------------------------------------------------ helpers (model)

    def _guild(self, guild_id: int) -> FakeGuild:
        try:
            return self.guilds[int(guild_id)]
        except KeyError:
            raise LookupError(f"unknown guild {guild_id}") from None

    def _channel(self, channel_id: int) -> FakeChannel:
        try:
            return self.channels[int(channel_id)]
        except KeyError:
            raise LookupError(f"unknown channel {channel_id}") from None

    def _dm_channel(self, user: FakeUser) -> FakeChannel:
        for ch in self.channels.values():
            if ch.type == 1 and ch.recipients and ch.recipients[0].id == user.id:
                return ch
        ch = FakeChannel(id=self.ids.next(), guild_id=None, name="", type=1, recipients=[user])
        self.channels[ch.id] = ch
        return ch

    def _channel_payload(self, channel: FakeChannel) -> JSON:
        return channel.payload(self.bot_user.id)

    def _bot_permissions(self, channel: FakeChannel) -> int:
        if channel.guild_id is None:
            return Perm.ALL & ~Perm.ADMINISTRATOR
        guild = self.guilds[channel.guild_id]
        perms = guild.base_permissions(self.bot_user.id)
        if perms == Perm.ALL:
            return perms
        target = channel
        if channel.is_thread and channel.parent_id in self.channels:
            target = self.channels[channel.parent_id]
        if not target.bot_can_post:
            perms &= ~(Perm.SEND_MESSAGES | Perm.SEND_MESSAGES_IN_THREADS)
        return perms

    def _author_payload(self, user_id: int) -> JSON:
        user = self.users.get(user_id) or FakeUser(user_id, f"user{user_id}")
        return user.payload()

    def _message_payload(
        self, msg: FakeMessage, *, with_member: bool = False, with_nonce: bool = False
    ) -> JSON:
        """The message object. Discord does not store a nonce: it is echoed only in the answer
        to the create request and in MESSAGE_CREATE (``with_nonce``), never in fetched ones."""
        data: JSON = {
            "id": str(msg.id),
            "type": msg.type,
            "channel_id": str(msg.channel_id),
            "author": self._author_payload(msg.author_id),
            "content": msg.content,
            "timestamp": iso(msg.created_at),
            "edited_timestamp": iso(msg.edited_at) if msg.edited_at else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": msg.attachments,
            "embeds": msg.embeds,
            "components": msg.components,
            "pinned": False,
            "flags": msg.flags,
        }
        if msg.guild_id is not None:
            data["guild_id"] = str(msg.guild_id)
            guild = self.guilds.get(msg.guild_id)
            if with_member and guild is not None and msg.author_id in guild.members:
                data["member"] = guild.members[msg.author_id].payload(with_user=False)
        if with_nonce and msg.nonce is not None:
            data["nonce"] = msg.nonce
        if msg.webhook_id is not None:
            data["webhook_id"] = str(msg.webhook_id)
            data["application_id"] = str(self.application_id)
        origin = self._origin.get(msg.id)
        if origin is not None:
            inter = self._interactions[origin]
            data["interaction_metadata"] = {
                "id": str(inter.id),
                "type": inter.type,
                "user": self._author_payload(inter.user_id),
                "authorizing_integration_owners": inter.payload.get(
                    "authorizing_integration_owners", {}
                ),
            }
        if msg.message_reference is not None:
            data["message_reference"] = msg.message_reference
            ref = self._store.get(int(msg.message_reference.get("message_id") or 0))
            data["referenced_message"] = (
                None if ref is None or ref.deleted else self._message_payload(ref)
            )
        thread = self.channels.get(msg.id)
        if (
            thread is not None
            and thread.is_thread
            and not thread.deleted
            and thread.id != msg.channel_id
        ):
            data["thread"] = self._channel_payload(thread)
        return data

    # ------------------------------------------------------------------ message writes

    def _record(self, msg: FakeMessage, *, log_write: bool = True) -> FakeMessage:
        self._store[msg.id] = msg
        if log_write:
            self.messages.append(msg)
        self._changed()
        return msg

    def _files_to_attachments(
        self, req: _Request | None, body: JSON, channel_id: int
    ) -> tuple[list[JSON], dict[str, bytes]]:
        if req is None or not req.files:
            return [], {}
        meta = {str(a.get("id")): a for a in body.get("attachments") or []}
        attachments: list[JSON] = []
        files: dict[str, bytes] = {}
        for index, (field_name, filename, ctype, blob) in enumerate(req.files):
            if len(blob) > self.attachment_size_limit:
                raise ApiError(413, 40005, reason="limits")
            m = re.search(r"\[(\d+)\]", field_name)
            key = m.group(1) if m else str(index)
            info = meta.get(key, {})
            aid = self.ids.next()
            url = f"{self.base_url}/attachments/{channel_id}/{aid}/{filename}"
            attachments.append(
                {
                    "id": str(aid),
                    "filename": info.get("filename") or filename,
                    "description": info.get("description"),
                    "content_type": ctype,
                    "size": len(blob),
                    "url": url,
                    "proxy_url": url,
                    "ephemeral": False,
                }
            )
            files[info.get("filename") or filename] = blob
        return attachments, files

    def _validate(self, body: JSON, *, creating: bool, under: str | None = None) -> None:
        errors, empty = limits.check_message(body, creating=creating)
        if errors:
            tree = {under: errors} if under else errors
            raise ApiError(400, 50035, errors=tree, reason="limits")
        if empty:
            raise ApiError(400, 50006, reason="limits")

    def _create_message(
        self,
        channel: FakeChannel,
        body: JSON,
        *,
        via: str,
        author_id: int | None = None,
        interaction: _Interaction | None = None,
        req: _Request | None = None,
        flags: int | None = None,
        msg_type: int = 0,
        message_id: int | None = None,
    ) -> FakeMessage:
        attachments, files = self._files_to_attachments(req, body, channel.id)
        if flags is None:
            flags = int(body.get("flags") or 0) & SETTABLE_FLAGS
        ref = body.get("message_reference")
        msg = FakeMessage(
            id=message_id or self.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id or self.bot_user.id,
            content=str(body.get("content") or ""),
            embeds=_normalize_embeds(body.get("embeds")),
            components=list(body.get("components") or []),
            flags=flags,
            nonce=None if body.get("nonce") is None else str(body.get("nonce")),
            via=via,
            created_at=time.time(),
            interaction_id=interaction.id if interaction else None,
            webhook_id=self.application_id if interaction else None,
            type=19 if ref else msg_type,
            attachments=attachments,
            files=files,
            message_reference=(
                {**ref, "channel_id": str(ref.get("channel_id") or channel.id)}
                if isinstance(ref, dict)
                else None
            ),
        )
        if interaction is not None:
            interaction.message_ids.append(msg.id)
            self._origin[msg.id] = interaction.id
        if not msg.ephemeral and not msg.loading:
            channel.last_message_id = msg.id
            if channel.is_thread:
                channel.message_count += 1
        self._record(msg, log_write=via != "loading")
        self._announce("MESSAGE_CREATE", msg)
        return msg

    def _edit_message(
        self,
        msg: FakeMessage,
        body: JSON,
        *,
        via: str = "edit",
        interaction: _Interaction | None = None,
        req: _Request | None = None,
        clear_loading: bool = False,
        mark_edited: bool = True,
    ) -> FakeMessage:
        changes: JSON = {"via": via, "edited_at": time.time() if mark_edited else msg.edited_at}
        changes["interaction_id"] = interaction.id if interaction else None
        if "content" in body:
            changes["content"] = str(body.get("content") or "")
        if "embeds" in body:
            changes["embeds"] = _normalize_embeds(body.get("embeds"))
        if "components" in body:
            changes["components"] = list(body.get("components") or [])
        flags = msg.flags
        if "flags" in body and body["flags"] is not None:
            flags = (flags & ~SETTABLE_FLAGS) | (int(body["flags"]) & SETTABLE_FLAGS)
        if clear_loading:
            flags &= ~FLAG_LOADING
        changes["flags"] = flags
        if "attachments" in body or (req is not None and req.files):
            keep_ids = {str(a.get("id")) for a in body.get("attachments") or []}
            kept = [a for a in msg.attachments if str(a["id"]) in keep_ids]
            new, files = self._files_to_attachments(req, body, msg.channel_id)
            kept_names = {a["filename"] for a in kept}
            changes["attachments"] = kept + new
            changes["files"] = {
                **{k: v for k, v in msg.files.items() if k in kept_names},
                **files,
            }
        if interaction is not None and msg.id not in interaction.message_ids:
            interaction.message_ids.append(msg.id)
        new_msg = replace(msg, **changes)
        self._record(new_msg)
        self._announce("MESSAGE_UPDATE", new_msg)
        return new_msg

    def _delete_message(self, msg: FakeMessage) -> None:
        self._record(replace(msg, deleted=True), log_write=False)
        if not msg.ephemeral and self._wants_messages(msg):
            data: JSON = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id is not None:
                data["guild_id"] = str(msg.guild_id)
            self._dispatch("MESSAGE_DELETE", data)

    def _wants_messages(self, msg: FakeMessage) -> bool:
        session = self._session
        if session is None:
            return False
        bit = INTENT_GUILD_MESSAGES if msg.guild_id is not None else INTENT_DIRECT_MESSAGES
        return bool(session.intents & bit)

    def _announce(self, event: str, msg: FakeMessage) -> None:
        if msg.ephemeral or msg.loading or not self._wants_messages(msg):
            return
        data = self._message_payload(msg, with_member=True, with_nonce=event == "MESSAGE_CREATE")
        session = self._session
        assert session is not None
        own = msg.author_id == self.bot_user.id
        if not own and msg.guild_id is not None and not session.intents & INTENT_MESSAGE_CONTENT:
            data.update({"content": "", "embeds": [], "attachments": [], "components": []})
        self._dispatch(event, data)

    # ------------------------------------------------------------------ REST plumbing

    def _route(self, method: str, pattern: str, handler: Handler, *, auth: bool = True) -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self._routes.append(_Route(method, regex, handler, auth))

    def _register_routes(self) -> None:
        r = self._route
        r("GET", "/users/@me", self._get_me)
        r("GET", "/users/{user_id}", self._get_user)
        r("POST", "/users/@me/channels", self._create_dm)
        r("GET", "/oauth2/applications/@me", self._get_app)
        r("GET", "/applications/@me", self._get_app)
        r("GET", "/gateway", self._get_gateway, auth=False)
        r("GET", "/gateway/bot", self._get_gateway_bot)
        for prefix in ("/applications/{app_id}", "/applications/{app_id}/guilds/{guild_id}"):
            r("GET", prefix + "/commands", self._list_commands)
            r("PUT", prefix + "/commands", self._put_commands)
            r("POST", prefix + "/commands", self._upsert_command)
            r("GET", prefix + "/commands/{command_id}", self._get_command)
            r("PATCH", prefix + "/commands/{command_id}", self._patch_command)
            r("DELETE", prefix + "/commands/{command_id}", self._delete_command)
        r("POST", "/interactions/{iid}/{itoken}/callback", self._callback, auth=False)
        r("POST", "/webhooks/{app_id}/{wtoken}", self._followup, auth=False)
        for verb, handler in (
            ("GET", self._get_webhook_message),
            ("PATCH", self._edit_webhook_message),
            ("DELETE", self._delete_webhook_message),
        ):
            r(verb, "/webhooks/{app_id}/{wtoken}/messages/{message_id}", handler, auth=False)
        r("GET", "/channels/{channel_id}", self._get_channel)
        r("GET", "/channels/{channel_id}/messages", self._history)
        r("POST", "/channels/{channel_id}/messages", self._post_message)
        r("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message)
        r("PATCH", "/channels/{channel_id}/messages/{message_id}", self._patch_message)
        r("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_channel_message)
        r("POST", "/channels/{channel_id}/threads", self._create_thread)
        r("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._thread_from_msg)
        r("POST", "/channels/{channel_id}/typing", self._typing)
        reaction = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
        r("PUT", reaction, self._add_reaction)
        r("DELETE", reaction, self._remove_reaction)
        r("GET", "/guilds/{guild_id}", self._get_guild)
        r("GET", "/guilds/{guild_id}/channels", self._get_guild_channels)
        r("GET", "/guilds/{guild_id}/roles", self._get_roles)
        r("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member)
        r("GET", "/guilds/{guild_id}/threads/active", self._active_threads)

    async def _rest_handler(self, request: web.Request) -> web.StreamResponse:
        method = request.method.upper()
        path = re.sub(r"/{2,}", "/", request.path)
        path = re.sub(r"^/api(/v\d+)?", "", path) or "/"
        if len(path) > 1:
            path = path.rstrip("/")
        query = dict(request.query)
        now = time.time()
        body: Any = None
        files: list[tuple[str, str, str | None, bytes]] = []
        interaction_id: int | None = None
        try:
            body, files = await _read_body(request)
            route, params = self._match(method, path)
            if route is not None and "iid" in params:
                interaction_id = _int_or_none(params["iid"])
            elif route is not None and "wtoken" in params:
                inter = self._by_token.get(params["wtoken"])
                interaction_id = inter.id if inter else None
            for hook in [h for h in self.hooks if not h.after and h.matches(method, path)]:
                hook.hits += 1
                if hook.callback(method, path, body):
                    raise ApiError(499, 0, "the client went away", reason="dropped by a hook")
            for rule in self.failures:
                if rule.matches(method, path) and not rule.exhausted:
                    rule.hits += 1
                    raise self._injected_error(rule)
            if route is None:
                raise ApiError(404, 0, "404: Not Found", reason="unknown route")
            if route.auth:
                self._check_auth(request.headers.get("Authorization"))
            ctx = _Request(method, path, params, query, body, files, request.headers)
            status, result = await route.handler(ctx)
            extra = ctx.response_headers
            for hook in [h for h in self.hooks if h.after and h.matches(method, path)]:
                hook.hits += 1
                hook.callback(method, path, body)
        except ApiError as err:
            reason = err.reason
            self.rejections.append(
                Rejection(
                    method=method,
                    path=path,
                    status=err.status,
                    code=err.code,
                    message=err.message,
                    errors=err.errors,
                    json=body,
                    time=now,
                    reason=reason,
                    interaction_id=interaction_id,
                )
            )
            self._record_request(method, path, query, body, now, err.status, files)
            self.failures = [r for r in self.failures if not r.exhausted]
            return json_response(err.status, err.payload(), err.headers)
        self._record_request(method, path, query, body, now, status, files)
        if status == 204 or result is None:
            return web.Response(status=204, headers=extra)
        return json_response(status, result, extra)

    def _record_request(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
        now: float,
        status: int,
        files: list[tuple[str, str, str | None, bytes]],
    ) -> None:
        self.requests.append(
            RecordedRequest(method, path, query, body, now, status, tuple(f[1] for f in files))
        )
        self._changed()

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
        for route in self._routes:
            if route.method != method:
                continue
            m = route.regex.match(path)
            if m:
                return route, m.groupdict()
        return None, {}

    def _check_auth(self, header: str | None) -> None:
        if not header or not header.startswith("Bot ") or len(header) <= 4:
            raise ApiError(401, 0, "401: Unauthorized", reason="auth")
        if self.token is not None and header[4:] != self.token:
            raise ApiError(401, 0, "401: Unauthorized", reason="auth")

    # ------------------------------------------------------------------ REST: users/app/gateway

    async def _get_me(self, req: _Request) -> tuple[int, Any]:
        me = {**self.bot_user.payload(), "verified": True, "mfa_enabled": False, "flags": 0}
        return 200, me

    async def _get_user(self, req: _Request) -> tuple[int, Any]:
        user = self.users.get(_snowflake(req.params["user_id"]))
        if user is None:
            raise ApiError(404, 10013)
        return 200, user.payload()

    async def _create_dm(self, req: _Request) -> tuple[int, Any]:
        uid = _snowflake(str((req.body or {}).get("recipient_id")))
        user = self.users.get(uid)
        if user is None:
            raise ApiError(400, 50035, errors={"recipient_id": {"_errors": []}})
        return 200, self._channel_payload(self._dm_channel(user))

    async def _get_app(self, req: _Request) -> tuple[int, Any]:
        return 200, {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.owner.payload(),
            "team": None,
            "verify_key": "0" * 64,
            "summary": "",
            "flags": self.application_flags,
            "bot": self.bot_user.payload(),
            "approximate_guild_count": len(self.guilds),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "tags": [],
        }

    async def _get_gateway(self, req: _Request) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def _get_gateway_bot(self, req: _Request) -> tuple[int, Any]:
        return 200, {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000 - self.identify_count,
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    # ------------------------------------------------------------------ REST: commands

    def _command_pool(self, req: _Request) -> tuple[list[JSON], int | None]:
        if _snowflake(req.params["app_id"]) != self.application_id:
            raise ApiError(403, 50001, reason="wrong application")
        gid_raw = req.params.get("guild_id")
        if gid_raw is None:
            return self.commands, None
        gid = _snowflake(gid_raw)
        if gid not in self.guilds:
            raise ApiError(404, 10004)
        return self.guild_commands.setdefault(gid, []), gid

    def _store_command(self, raw: JSON, guild_id: int | None, previous: list[JSON]) -> JSON:
        ctype = int(raw.get("type", 1))
        old = next(
            (c for c in previous if c["name"] == raw.get("name") and c["type"] == ctype), None
        )
        cmd: JSON = {
            "id": old["id"] if old else str(self.ids.next()),
            "application_id": str(self.application_id),
            "version": str(self.ids.next()),
            "type": ctype,
            "name": raw.get("name"),
            "name_localizations": raw.get("name_localizations"),
            "description": raw.get("description", ""),
            "description_localizations": raw.get("description_localizations"),
            "options": raw.get("options") or [],
            "default_member_permissions": raw.get("default_member_permissions"),
            "nsfw": bool(raw.get("nsfw", False)),
            "contexts": raw.get("contexts"),
            "integration_types": raw.get("integration_types") or [0],
        }
        if guild_id is not None:
            cmd["guild_id"] = str(guild_id)
        else:
            cmd["dm_permission"] = raw.get("dm_permission", True)
        return cmd

    async def _list_commands(self, req: _Request) -> tuple[int, Any]:
        pool, _ = self._command_pool(req)
        return 200, pool

    async def _put_commands(self, req: _Request) -> tuple[int, Any]:
        pool, gid = self._command_pool(req)
        body = req.body
        if not isinstance(body, list):
            raise ApiError(400, 50035, errors={"_errors": [{"code": "LIST_TYPE_CONVERT"}]})
        errors = limits.check_commands(body, guild=gid is not None)
        if errors:
            raise ApiError(400, 50035, errors=errors, reason="limits")
        new = [self._store_command(c, gid, pool) for c in body]
        pool[:] = new
        self._changed()
        return 200, new

    async def _upsert_command(self, req: _Request) -> tuple[int, Any]:
        pool, gid = self._command_pool(req)
        errors = limits.Errors()
        limits.check_command(errors, req.body or {}, ())
        if errors:
            raise ApiError(400, 50035, errors=errors.tree, reason="limits")
        cmd = self._store_command(req.body or {}, gid, pool)
        existing = next((i for i, c in enumerate(pool) if c["id"] == cmd["id"]), None)
        if existing is None:
            pool.append(cmd)
            status = 201
        else:
            pool[existing] = cmd
            status = 200
        self._changed()
        return status, cmd

    def _find_command(self, req: _Request) -> tuple[list[JSON], int, int | None]:
        pool, gid = self._command_pool(req)
        for i, cmd in enumerate(pool):
            if cmd["id"] == req.params["command_id"]:
                return pool, i, gid
        raise ApiError(404, 10063)

    async def _get_command(self, req: _Request) -> tuple[int, Any]:
        pool, i, _ = self._find_command(req)
        return 200, pool[i]

    async def _patch_command(self, req: _Request) -> tuple[int, Any]:
        pool, i, gid = self._find_command(req)
        merged = {**pool[i], **(req.body or {})}
        errors = limits.Errors()
        limits.check_command(errors, merged, ())
        if errors:
            raise ApiError(400, 50035, errors=errors.tree, reason="limits")
        pool[i] = {**self._store_command(merged, gid, pool), "id": pool[i]["id"]}
        self._changed()
        return 200, pool[i]

    async def _delete_command(self, req: _Request) -> tuple[int, Any]:
        pool, i, _ = self._find_command(req)
        del pool[i]
        self._changed()
        return 204, None

    # ------------------------------------------------------------------ REST: interactions

    async def _callback(self, req: _Request) -> tuple[int, Any]:
        iid = _int_or_none(req.params["iid"])
        inter = self._interactions.get(iid or 0)
        if inter is None or inter.token != req.params["itoken"]:
            raise ApiError(404, 10062, reason="unknown interaction")
        if inter.responded:
            raise ApiError(400, 40060, reason="already acknowledged")
        elapsed = asyncio.get_running_loop().time() - inter.created
        if inter.expired or elapsed > self.interaction_deadline:
            raise ApiError(404, 10062, reason="interaction expired (3 s)")
        body = req.body if isinstance(req.body, dict) else {}
        cb_type = int(body.get("type") or 0)
        data = body.get("data")
        data = data if isinstance(data, dict) else {}
        allowed = {
            ITYPE_COMMAND: {CB_MESSAGE, CB_DEFERRED, CB_MODAL},
            ITYPE_COMPONENT: {CB_MESSAGE, CB_DEFERRED, CB_DEFERRED_UPDATE, CB_UPDATE, CB_MODAL},
            ITYPE_AUTOCOMPLETE: {CB_AUTOCOMPLETE},
            ITYPE_MODAL: {CB_MESSAGE, CB_DEFERRED, CB_DEFERRED_UPDATE, CB_UPDATE},
        }[inter.type]
        if cb_type not in allowed:
            raise ApiError(
                400,
                50035,
                errors={
                    "type": {
                        "_errors": [
                            {
                                "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                "message": f"Interaction response type {cb_type} is not valid "
                                f"for interaction type {inter.type}",
                            }
                        ]
                    }
                },
                reason="limits",
            )
        if cb_type == CB_UPDATE and inter.source_message_id is None:
            raise ApiError(400, 50035, errors={"type": {"_errors": []}}, reason="no message")
        message: FakeMessage | None = None
        channel = self.channels[inter.channel_id]
        msg_type = 20 if inter.type == ITYPE_COMMAND else 0
        if cb_type == CB_MESSAGE:
            self._validate(data, creating=True, under="data")
            flags = int(data.get("flags") or 0) & (SETTABLE_FLAGS | FLAG_EPHEMERAL)
            message = self._create_message(
                channel,
                data,
                via="interaction",
                interaction=inter,
                req=req,
                flags=flags,
                msg_type=msg_type,
            )
            inter.original_message_id = message.id
        elif cb_type == CB_DEFERRED:
            flags = FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            placeholder = self._create_message(
                channel,
                {"content": ""},
                via="loading",
                interaction=inter,
                flags=flags,
                msg_type=msg_type,
            )
            inter.message_ids.remove(placeholder.id)
            inter.original_message_id = placeholder.id
            inter.deferred_loading = True
        elif cb_type == CB_DEFERRED_UPDATE:
            inter.original_message_id = inter.source_message_id
        elif cb_type == CB_UPDATE:
            self._validate(data, creating=False, under="data")
            assert inter.source_message_id is not None
            source = self._store[inter.source_message_id]
            message = self._edit_message(source, data, interaction=inter, req=req)
            inter.original_message_id = source.id
        elif cb_type == CB_AUTOCOMPLETE:
            errors = limits.check_autocomplete(data)
            if errors:
                raise ApiError(400, 50035, errors={"data": errors}, reason="limits")
        elif cb_type == CB_MODAL:
            errors = limits.check_modal(data)
            if errors:
                raise ApiError(400, 50035, errors={"data": errors}, reason="limits")
        inter.responded = True
        inter.response_type = cb_type
        self.interaction_responses.append(
            InteractionResponse(
                interaction_id=inter.id,
                token=inter.token,
                type=cb_type,
                data=data or None,
                time=time.time(),
                message_id=inter.original_message_id,
            )
        )
        self._changed()
        if req.query.get("with_response", "").lower() not in ("1", "true"):
            return 204, None
        out: JSON = {"interaction": {"id": str(inter.id), "type": inter.type}}
        if inter.original_message_id is not None and cb_type in (CB_MESSAGE, CB_DEFERRED):
            original = self._store[inter.original_message_id]
            out["interaction"].update(
                {
                    "response_message_id": str(original.id),
                    "response_message_loading": original.loading,
                    "response_message_ephemeral": original.ephemeral,
                }
            )
        resource: JSON = {"type": cb_type}
        if message is not None:
            resource["message"] = self._message_payload(message)
        if cb_type not in (CB_AUTOCOMPLETE, CB_DEFERRED_UPDATE):
            out["resource"] = resource
        return 200, out

    def _webhook_interaction(self, req: _Request) -> _Interaction:
        inter = self._by_token.get(req.params["wtoken"])
        if _snowflake(req.params["app_id"]) != self.application_id or inter is None:
            raise ApiError(404, 10015, reason="unknown webhook")
        if inter.token_expired:
            raise ApiError(401, 50027, reason="token expired (15 min)")
        if not inter.responded:
            raise ApiError(404, 10015, reason="interaction not acknowledged yet")
        return inter

    async def _followup(self, req: _Request) -> tuple[int, Any]:
        inter = self._webhook_interaction(req)
        body = req.body if isinstance(req.body, dict) else {}
        self._validate(body, creating=True)
        msg: FakeMessage
        if inter.deferred_loading and inter.original_message_id is not None:
            # After a type-5 deferral the first followup replaces the "thinking" message;
            # its ephemerality is the deferral's.
            placeholder = self._store[inter.original_message_id]
            inter.deferred_loading = False
            edit = {k: body[k] for k in ("content", "embeds", "components") if k in body}
            edit.setdefault("content", "")
            msg = self._edit_message(
                placeholder,
                edit,
                via="followup",
                interaction=inter,
                req=req,
                clear_loading=True,
                mark_edited=False,
            )
        else:
            channel = self.channels[inter.channel_id]
            flags = int(body.get("flags") or 0) & (SETTABLE_FLAGS | FLAG_EPHEMERAL)
            msg = self._create_message(
                channel,
                body,
                via="followup",
                interaction=inter,
                req=req,
                flags=flags,
                msg_type=20 if inter.type == ITYPE_COMMAND else 0,
            )
        if req.query.get("wait", "").lower() in ("1", "true"):
            return 200, self._message_payload(msg)
        return 204, None

    def _webhook_message(self, req: _Request, inter: _Interaction) -> FakeMessage:
        raw = req.params["message_id"]
        if raw == "@original":
            mid = inter.original_message_id
        else:
            mid = _int_or_none(raw)
            allowed = set(inter.message_ids) | {inter.original_message_id}
            if mid not in allowed:
                mid = None
        msg = self._store.get(mid or 0)
        if msg is None or msg.deleted:
            raise ApiError(404, 10008)
        return msg

    async def _get_webhook_message(self, req: _Request) -> tuple[int, Any]:
        inter = self._webhook_interaction(req)
        return 200, self._message_payload(self._webhook_message(req, inter))

    async def _edit_webhook_message(self, req: _Request) -> tuple[int, Any]:
        inter = self._webhook_interaction(req)
        msg = self._webhook_message(req, inter)
        body = req.body if isinstance(req.body, dict) else {}
        self._validate(body, creating=False)
        was_loading = msg.loading and msg.id == inter.original_message_id
        if was_loading:
            inter.deferred_loading = False
        new = self._edit_message(msg, body, interaction=inter, req=req, clear_loading=was_loading)
        return 200, self._message_payload(new)

    async def _delete_webhook_message(self, req: _Request) -> tuple[int, Any]:
        inter = self._webhook_interaction(req)
        self._delete_message(self._webhook_message(req, inter))
        return 204, None

    # ------------------------------------------------------------------ REST: channels

    def _usable_channel(self, raw_id: str) -> FakeChannel:
        channel = self.channels.get(_snowflake(raw_id))
        if channel is None or channel.deleted:
            raise ApiError(404, 10003, reason="unknown channel")
        parent = self.channels.get(channel.parent_id or 0) if channel.is_thread else None
        if parent is not None and parent.deleted:  # a thread goes with its channel
            raise ApiError(404, 10003, reason="unknown channel (parent deleted)")
        if not channel.accessible or (parent is not None and not parent.accessible):
            raise ApiError(403, 50001, reason="no access")
        if channel.guild_id is not None and not self._bot_permissions(channel) & Perm.VIEW_CHANNEL:
            raise ApiError(403, 50001, reason="no VIEW_CHANNEL")
        return channel

    def _require(self, channel: FakeChannel, perm: int, what: str) -> None:
        if not self._bot_permissions(channel) & perm:
            raise ApiError(403, 50013, reason=f"missing {what}")

    def _channel_message(self, channel: FakeChannel, raw_id: str) -> FakeMessage:
        msg = self._store.get(_snowflake(raw_id))
        if msg is None or msg.deleted or msg.channel_id != channel.id or msg.ephemeral:
            raise ApiError(404, 10008)
        return msg

    async def _get_channel(self, req: _Request) -> tuple[int, Any]:
        return 200, self._channel_payload(self._usable_channel(req.params["channel_id"]))

    async def _post_message(self, req: _Request) -> tuple[int, Any]:
        channel = self._usable_channel(req.params["channel_id"])
        if channel.type not in (0, 1, 2, 5, 10, 11, 12, 13):
            raise ApiError(400, 50024, reason="not a text channel")
        if channel.is_thread:
            self._require(channel, Perm.SEND_MESSAGES_IN_THREADS, "SEND_MESSAGES_IN_THREADS")
        else:
            self._require(channel, Perm.SEND_MESSAGES, "SEND_MESSAGES")
        body = req.body if isinstance(req.body, dict) else {}
        self._validate(body, creating=not req.files)
        headers = self._rate_limit(channel)
        nonce = body.get("nonce")
        now = time.time()
        key: tuple[int, int, str] | None = None
        if nonce is not None and body.get("enforce_nonce"):
            scope = channel.id if self.nonce_scope == "channel" else 0
            key = (self.bot_user.id, scope, str(nonce))
            hit = self._nonces.get(key)
            if hit is not None and now - hit[1] <= self.nonce_window:
                existing = self._store.get(hit[0])
                if existing is not None:
                    req.response_headers = headers
                    return 200, self._message_payload(existing, with_nonce=True)
        ref = body.get("message_reference")
        if isinstance(ref, dict) and ref.get("message_id"):
            target = self._store.get(_snowflake(str(ref["message_id"])))
            if (target is None or target.deleted) and ref.get("fail_if_not_exists", True):
                raise ApiError(
                    400,
                    50035,
                    errors={
                        "message_reference": {"_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE"}]}
                    },
                    reason="unknown reply target",
                )
        msg = self._create_message(channel, body, via="channel", req=req)
        if key is not None:
            self._nonces[key] = (msg.id, now)
        req.response_headers = headers
        return 200, self._message_payload(msg, with_nonce=True)

    def _rate_limit(self, channel: FakeChannel) -> dict[str, str]:
        if self.channel_message_rate is None:
            return {}
        limit, per = self.channel_message_rate
        now = time.monotonic()
        window = [t for t in self._rate_windows.get(channel.id, []) if now - t < per]
        bucket = f"fake-channel-{channel.id}"
        if len(window) >= limit:
            retry = per - (now - window[0])
            self._rate_windows[channel.id] = window
            raise ApiError(
                429,
                20028,
                "You are being rate limited.",
                reason="rate limit",
                headers={
                    "Via": "1.1 google",
                    "Retry-After": str(max(1, math.ceil(retry))),
                    "X-RateLimit-Limit": str(limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{time.time() + retry:.3f}",
                    "X-RateLimit-Reset-After": f"{retry:.3f}",
                    "X-RateLimit-Bucket": bucket,
                    "X-RateLimit-Scope": "user",
                },
                body={
                    "message": "You are being rate limited.",
                    "retry_after": retry,
                    "global": False,
                },
            )
        window.append(now)
        self._rate_windows[channel.id] = window
        reset_after = per - (now - window[0])
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - len(window)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }

    async def _history(self, req: _Request) -> tuple[int, Any]:
        channel = self._usable_channel(req.params["channel_id"])
        self._require(channel, Perm.READ_MESSAGE_HISTORY, "READ_MESSAGE_HISTORY")
        msgs = self.messages_in(channel.id, include_ephemeral=False)
        limit = max(1, min(100, int(req.query.get("limit", "50"))))
        if "before" in req.query:
            msgs = [m for m in msgs if m.id < int(req.query["before"])]
        if "after" in req.query:
            msgs = [m for m in msgs if m.id > int(req.query["after"])][:limit]
        if "around" in req.query:
            around = int(req.query["around"])
            msgs = sorted(msgs, key=lambda m: abs(m.id - around))[:limit]
        msgs = sorted(msgs, key=lambda m: m.id, reverse=True)[:limit]
        return 200, [self._message_payload(m) for m in msgs]

    async def _get_message(self, req: _Request) -> tuple[int, Any]:
        channel = self._usable_channel(req.params["channel_id"])
        self._require(channel, Perm.READ_MESSAGE_HISTORY, "READ_MESSAGE_HISTORY")
        return 200, self._message_payload(self._channel_message(channel, req.params["message_id"]))

    async def _patch_message(self, req: _Request) -> tuple[int, Any]:
        channel = self._usable_channel(req.params["channel_id"])
        msg = self._channel_message(channel, req.params["message_id"])
        if msg.author_id != self.bot_user.id:
            raise ApiError(403, 50005, reason="not the author")
        body = req.body if isinstance(req.body, dict) else {}
        self._validate(body, creating=False)
        return 200, self._message_payload(self._edit_message(msg, body, req=req))

    async def _delete_channel_message(self, req: _Request) -> tuple[int, Any]:
        channel = self._usable_channel(req.params["channel_id"])
        msg = self._channel_message(channel, req.params["message_id"])
        if msg.author_id != self.bot_user.id:
            self._require(channel, Perm.MANAGE_MESSAGES, "MANAGE_MESSAGES")
        self._delete_message(msg)
        return 204, None

    def _new_thread(
        self, parent: FakeChannel, name: Any, ttype: int, archive: Any, thread_id: int | None
    ) -> FakeChannel:
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise ApiError(
                400,
                50035,
                errors={"name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH"}]}},
                reason="limits",
            )
        if archive is not None and archive not in (60, 1440, 4320, 10080):
            raise ApiError(
                400,
                50035,
                errors={"auto_archive_duration": {"_errors": [{"code": "BASE_TYPE_CHOICES"}]}},
                reason="limits",
            )
        assert parent.guild_id is not None
        tid = thread_id or self.ids.next()
        thread = FakeChannel(
            id=tid,
            guild_id=parent.guild_id,
            name=name,
            type=ttype,
            parent_id=parent.id,
            owner_id=self.bot_user.id,
            auto_archive_duration=int(archive or 4320),
        )
        self.channels[tid] = thread
        self.guilds[parent.guild_id].channels.append(tid)
        if self._session is not None:
            self._dispatch(
                "THREAD_CREATE", {**self._channel_payload(thread), "newly_created": True}
            )
        return thread

    async def _create_thread(self, req: _Request) -> tuple[int, Any]:
        parent = self._usable_channel(req.params["channel_id"])
        body = req.body if isinstance(req.body, dict) else {}
        if parent.type not in (0, 5, 15, 16):
            raise ApiError(400, 50024, reason="cannot hold threads")
        ttype = int(body.get("type") or 11)
        if parent.type in (15, 16):
            ttype = 11
            self._require(parent, Perm.SEND_MESSAGES, "SEND_MESSAGES")
        elif ttype == 12:
            self._require(parent, Perm.CREATE_PRIVATE_THREADS, "CREATE_PRIVATE_THREADS")
        else:
            self._require(parent, Perm.CREATE_PUBLIC_THREADS, "CREATE_PUBLIC_THREADS")
        starter = body.get("message") if parent.type in (15, 16) else None
        if parent.type in (15, 16):
            if not isinstance(starter, dict):
                raise ApiError(400, 50035, errors={"message": {"_errors": []}}, reason="limits")
            self._validate(starter, creating=not req.files)
        thread = self._new_thread(
            parent, body.get("name"), ttype, body.get("auto_archive_duration"), None
        )
        result = self._channel_payload(thread)
        if starter is not None:
            msg = self._create_message(thread, starter, via="thread", req=req, message_id=thread.id)
            result["message"] = self._message_payload(msg)
        return 201, result

    async def _thread_from_msg(self, req: _Request) -> tuple[int, Any]:
        parent = self._usable_channel(req.params["channel_id"])
        if parent.type not in (0, 5):
            raise ApiError(400, 50024, reason="cannot hold threads")
        self._require(parent, Perm.CREATE_PUBLIC_THREADS, "CREATE_PUBLIC_THREADS")
        msg = self._channel_message(parent, req.params["message_id"])
        if msg.id in self.channels:
            raise ApiError(400, 160004)
        body = req.body if isinstance(req.body, dict) else {}
        ttype = 10 if parent.type == 5 else 11
        thread = self._new_thread(
            parent, body.get("name"), ttype, body.get("auto_archive_duration"), msg.id
        )
        self._changed()
        return 201, self._channel_payload(thread)

    async def _typing(self, req: _Request) -> tuple[int, Any]:
        self._usable_channel(req.params["channel_id"])
        return 204, None

    async def _add_reaction(self, req: _Request) -> tuple[int, Any]:
        channel = self._usable_channel(req.params["channel_id"])
        self._require(channel, Perm.ADD_REACTIONS, "ADD_REACTIONS")
        msg = self._channel_message(channel, req.params["message_id"])
        self.reactions.append((channel.id, msg.id, req.params["emoji"]))
        return 204, None

    async def _remove_reaction(self, req: _Request) -> tuple[int, Any]:
        channel = self._usable_channel(req.params["channel_id"])
        msg = self._channel_message(channel, req.params["message_id"])
        entry = (channel.id, msg.id, req.params["emoji"])
        if entry in self.reactions:
            self.reactions.remove(entry)
        return 204, None

    # ------------------------------------------------------------------ REST: guilds

    def _guild_for(self, req: _Request) -> FakeGuild:
        guild = self.guilds.get(_snowflake(req.params["guild_id"]))
        if guild is None:
            raise ApiError(404, 10004)
        return guild

    async def _get_guild(self, req: _Request) -> tuple[int, Any]:
        return 200, self._guild_for(req).payload()

    async def _get_guild_channels(self, req: _Request) -> tuple[int, Any]:
        guild = self._guild_for(req)
        chans = [self.channels[c] for c in guild.channels]
        return 200, [self._channel_payload(c) for c in chans if not c.deleted and not c.is_thread]

    async def _get_roles(self, req: _Request) -> tuple[int, Any]:
        return 200, [r.payload() for r in self._guild_for(req).roles.values()]

    async def _get_member(self, req: _Request) -> tuple[int, Any]:
        guild = self._guild_for(req)
        member = guild.members.get(_snowflake(req.params["user_id"]))
        if member is None:
            raise ApiError(404, 10007)
        return 200, member.payload()

    async def _active_threads(self, req: _Request) -> tuple[int, Any]:
        guild = self._guild_for(req)
        threads = [
            self._channel_payload(self.channels[c])
            for c in guild.channels
            if self.channels[c].is_thread and not self.channels[c].deleted
        ]
        return 200, {"threads": threads, "members": []}


# ---------------------------------------------------------------------- module helpers


def _snowflake(raw: str) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ApiError(
            400,
            50035,
            errors={"_errors": [{"code": "NUMBER_TYPE_COERCE", "message": f"{raw!r}"}]},
        ) from None


def _int_or_none(raw: str) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _guess_option_type(value: Any) -> int:
    if isinstance(value, bool):
        return OPT_BOOLEAN
    if isinstance(value, int):
        return OPT_INTEGER
    if isinstance(value, float):
        return OPT_NUMBER
    return OPT_STRING


def _normalize_embeds(raw: Any) -> list[JSON]:
    out = []
    for embed in raw or []:
        if isinstance(embed, dict):
            out.append({"type": "rich", **embed})
    return out


async def _read_body(
    request: web.Request,
) -> tuple[Any, list[tuple[str, str, str | None, bytes]]]:
    if not request.can_read_body:
        return None, []
    ctype = request.content_type
    if ctype.startswith("multipart/"):
        form = await request.post()
        body: Any = None
        files: list[tuple[str, str, str | None, bytes]] = []
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files.append((name, value.filename, value.content_type, value.file.read()))
            elif name == "payload_json":
                raw = value.decode() if isinstance(value, bytes | bytearray) else str(value)
                body = _loads(raw)
        return body, files
    raw_text = await request.text()
    if not raw_text:
        return None, []
    return _loads(raw_text), []


def _loads(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiError(400, 50109, reason="invalid json") from None
