"""The Discord cogs: one module (or package) per feature, loaded as extensions at start-up.

A cog only translates: an interaction's options become a handler call in ``bot.commands``, and
the handler's Reply goes back through ``bot.discord.responses.respond`` (which defers slow work,
renders, attaches page buttons and writes the command's log line). No SQL, no message text.

Adding a feature, e.g. topics:

1. Handlers and ``COMMANDS`` in ``bot/commands/topics.py``; add the module to
   ``bot.commands.FEATURES`` (the console and ``/help`` get the commands from there).
2. ``bot/discord/cogs/topics.py``: a ``commands.Cog`` whose ``app_commands`` methods call those
   handlers through ``respond``, with the parameter descriptions in a numpy-style docstring,
   and an ``async def setup(bot)`` that adds the cog. Gate commands that change what the bot
   posts with ``@requires("manage_channels")`` from ``bot.discord.checks``.
3. Add ``"bot.discord.cogs.topics"`` to :data:`EXTENSIONS`. tests/discord/test_cogs.py then
   loads it and syncs the tree, so an import error or a clashing name fails the tests.
"""

EXTENSIONS: tuple[str, ...] = (
    "bot.discord.cogs.papers",
    "bot.discord.cogs.search",
    "bot.discord.cogs.catalog",
    "bot.discord.cogs.topics",
    "bot.discord.cogs.subscriptions",
    "bot.discord.cogs.help",
)
