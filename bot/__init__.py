"""paperbot: a Discord bot for research-paper alerts."""

__version__ = "0.1.0"
