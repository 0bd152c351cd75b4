"""Command handlers shared by the Discord and console front ends.

One module per feature. Each handler takes typed arguments and the services it needs, runs the
database work in a worker thread, and returns a :class:`bot.messages.Reply`; a person's mistake
(bad query, unknown id, bad category) becomes a short error reply, never an exception. Each
module also declares its commands for the registry (``COMMANDS``), which the console parses with,
page buttons re-run through, and ``/help`` lists.

Adding a feature (topics, subscriptions): write ``bot/commands/<feature>.py`` with its handlers
and ``COMMANDS``, add the module to ``FEATURES`` below, and add a cog for Discord
(``bot/discord/cogs``).
"""

from bot.commands import catalog, help, papers, search, subscriptions, topics
from bot.commands.registry import Args, Command, Context, Deps, Param, Place, Registry

FEATURES = (papers, search, catalog, topics, subscriptions, help)

__all__ = [
    "FEATURES",
    "Args",
    "Command",
    "Context",
    "Deps",
    "Param",
    "Place",
    "Registry",
    "default_registry",
]


def default_registry() -> Registry:
    """Every command of every feature, in the order ``/help`` lists them."""
    return Registry(command for feature in FEATURES for command in feature.COMMANDS)
