"""The Discord front end: the only package that imports discord.

client.py builds the bot, cogs/ translates interactions to command handlers, render.py turns
replies into embeds (escaping every text), pagination.py holds the persistent page buttons.
"""
