"""The interactive console: slash commands typed in a terminal, or piped in."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console

from bot.app import Services
from bot.console.render import render_paper, render_stats
from bot.domain.lookups import BadPaperRef, PaperNotFound, find_paper

HELP = """Commands:
  /paper ID     a paper by arXiv id, arxiv.org link or DOI
  /stats        catalog statistics
  /help         this text
  quit          leave (or end of input)"""


def run_console(
    services: Services, *, stdin: TextIO = sys.stdin, console: Console | None = None
) -> int:
    """Read commands until end of input; returns the exit status."""
    console = console or Console(highlight=False)
    interactive = stdin.isatty()
    if interactive:
        console.print("paperbot console — no DISCORD_TOKEN set. Type /help.")
    while True:
        if interactive:
            console.print("> ", end="")
        line = stdin.readline()
        if not line:
            return 0
        line = line.strip()
        if not line:
            continue
        if line in ("quit", "exit", "/quit"):
            return 0
        name, _, arg = line.partition(" ")
        if name == "/help":
            console.print(HELP, markup=False)
        elif name == "/stats":
            console.print(render_stats(services.catalog.stats()))
        elif name == "/paper":
            try:
                console.print(render_paper(find_paper(services.catalog, arg)))
            except (BadPaperRef, PaperNotFound) as exc:
                console.print(f"error: {exc}", markup=False)
        else:
            console.print(f"unknown command {name!r}; type /help", markup=False)
