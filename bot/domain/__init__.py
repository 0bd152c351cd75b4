"""Domain logic: papers, ids, ingest parsing, queries, topics and digests.

Nothing in this package imports discord or sqlalchemy (tests/domain/test_layering.py checks it).
"""
