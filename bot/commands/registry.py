"""The command registry: what each command is called, what it takes, and how to run it.

Both front ends read it: the console parses typed lines and pages with it, Discord's ``/help``
lists it, and page buttons find the command to re-run through it. A feature module declares its
commands as a ``COMMANDS`` tuple of :class:`Command`; :func:`bot.commands.default_registry`
gathers them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from bot.domain.catalog import Catalog
from bot.domain.search import SearchBackend
from bot.messages import Reply, build_error
from bot.messages.help import usage

Args = Mapping[str, str]


class Deps(Protocol):
    """The services command handlers use (bot.app.Services provides them)."""

    @property
    def catalog(self) -> Catalog: ...

    @property
    def search(self) -> SearchBackend: ...


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    description: str
    required: bool = True
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Place:
    """Where a page is turned: the server and channel of the click (the console has none)."""

    guild_id: int
    channel_id: int


@dataclass(frozen=True, slots=True)
class Context:
    """What a command runs with: the services, the registry (for ``/help``) and, for a page
    turned on Discord, where (a digest preview depends on the server and channel)."""

    deps: Deps
    registry: Registry
    place: Place | None = None


Runner = Callable[[Context, Args], Awaitable[Reply]]
PageTurner = Callable[[Context, str, int], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Command:
    """One command as both front ends see it.

    ``run`` takes the parsed arguments by parameter name (strings, as typed). ``turn_page``,
    for commands whose replies carry a pager, answers the same command for another page from
    the pager's argument. ``permissions`` names Discord permissions (``manage_channels``) a
    member needs; the console, run by the operator, ignores them.
    """

    name: str
    description: str
    run: Runner
    params: tuple[Param, ...] = ()
    turn_page: PageTurner | None = None
    permissions: tuple[str, ...] = field(default=())


class Registry:
    """An ordered set of commands with unique names."""

    def __init__(self, commands: Iterable[Command]) -> None:
        self._commands: dict[str, Command] = {}
        for command in commands:
            if command.name in self._commands:
                raise ValueError(f"two commands are named /{command.name}")
            self._commands[command.name] = command

    @property
    def commands(self) -> tuple[Command, ...]:
        return tuple(self._commands.values())

    def get(self, name: str) -> Command | None:
        return self._commands.get(name.removeprefix("/"))

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def parse(self, line: str) -> tuple[str, dict[str, str]]:
        """``/search long context`` -> ``("search", {"query": "long context"})``.

        Everything after the name is the command's first parameter (queries have spaces and
        their own ``field:value`` syntax); other parameters keep their defaults.
        """
        head, _, rest = line.strip().partition(" ")
        name = head.removeprefix("/")
        command = self._commands.get(name)
        rest = rest.strip()
        if command is None or not command.params or not rest:
            return name, {}
        return name, {command.params[0].name: rest}

    async def run(self, deps: Deps, name: str, args: Args) -> Reply:
        """Run a command by name; an unknown command or a missing argument is an error reply."""
        command = self.get(name)
        if command is None:
            return build_error(f"unknown command /{name}; /help lists the commands")
        missing = [p.name for p in command.params if p.required and not args.get(p.name)]
        if missing:
            return build_error(f"/{command.name} needs {missing[0]}: {usage(command)}")
        return await command.run(Context(deps, self), args)

    async def turn_page(
        self, deps: Deps, name: str, argument: str, page: int, place: Place | None = None
    ) -> Reply:
        """Page ``page`` of a paged command's answer for ``argument``, turned at ``place``."""
        command = self.get(name)
        if command is None or command.turn_page is None:
            return build_error(f"/{name} has no pages to turn")
        return await command.turn_page(Context(deps, self, place), argument, page)
