"""The terminal front end: the same commands and digests as Discord, rendered with rich."""
