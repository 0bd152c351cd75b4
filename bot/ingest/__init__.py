"""Ingest, application layer: fetching feeds over HTTP politely and naming sources.

:mod:`bot.ingest.sources` turns what a user names (``cs.CL``, ``arxiv:QUERY``, ``id:...``, a
URL) into a fetchable URL; :mod:`bot.ingest.fetcher` fetches it with conditional requests,
per-host rate limits and retries. Parsing the bytes into papers is domain logic and lives in
:mod:`bot.domain.ingest`.
"""
