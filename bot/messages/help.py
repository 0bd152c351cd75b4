"""The command list (``/help``), built from the command registry's descriptions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.messages.limits import fit_reply
from bot.messages.model import Card, Reply, Span


class ParamDoc(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def required(self) -> bool: ...


class CommandDoc(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def params(self) -> Sequence[ParamDoc]: ...


def usage(command: CommandDoc) -> str:
    """``/search query [sort]``: required parameters bare, optional ones in brackets."""
    parts = [f"/{command.name}"]
    parts += [p.name if p.required else f"[{p.name}]" for p in command.params]
    return " ".join(parts)


def build_help(commands: Sequence[CommandDoc], *, footer: str = "") -> Reply:
    """Every command with its usage, what it does, and what each parameter means."""
    spans: list[Span] = []
    for command in commands:
        if spans:
            spans.append(Span("\n\n"))
        spans += [Span(usage(command), "bold"), Span(f" — {command.description}")]
        for p in command.params:
            spans.append(Span(f"\n• {p.name}: {p.description}"))
    card = Card(
        title="paperbot commands",
        description=tuple(spans) or (Span("No commands."),),
        footer=footer,
    )
    return fit_reply(Reply(cards=(card,)))
