"""Fixtures shared by the whole suite.

`engine` is parametrised over SQLite and PostgreSQL: every storage test runs against both. Each test
run gets its own PostgreSQL schema; with CI=true an unreachable PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from storage.db import create_db_engine
from storage.migrate import upgrade

FIXTURES = Path(__file__).parent / "fixtures"
ARXIV_FIXTURES = FIXTURES / "arxiv"
POSTGRES_URL = os.environ.get(
    "PAPERBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _tables(engine: Engine) -> list[str]:
    import storage.notes  # registers the paper_notes table
    import storage.paged_queries  # registers the paged_queries table
    import storage.subscription_models  # noqa: F401  (registers the subscription tables)
    from storage.models import Base

    return [t.name for t in reversed(Base.metadata.sorted_tables)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@contextmanager
def migrated_postgres_schema(prefix: str = "paperbot_test") -> Iterator[str]:
    """A new, migrated PostgreSQL schema, dropped afterwards.

    An unreachable PostgreSQL fails the test with CI=true and skips it elsewhere.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        message = f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    try:
        engine = create_db_engine(POSTGRES_URL, schema=schema)
        upgrade(engine)
        engine.dispose()
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A schema of this test run's own, migrated once, dropped at the end."""
    with migrated_postgres_schema() as schema:
        yield schema


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url_and_schema(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, str | None]]:
    """(database URL, schema) of a migrated, empty database of each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "paperbot.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}", None
        return
    schema: str = request.getfixturevalue("postgres_schema")
    engine = create_db_engine(POSTGRES_URL, schema=schema)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(_tables(engine)) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield POSTGRES_URL, schema


@pytest.fixture
def engine(db_url_and_schema: tuple[str, str | None]) -> Iterator[Engine]:
    url, schema = db_url_and_schema
    engine = create_db_engine(url, schema=schema)
    yield engine
    engine.dispose()


@pytest.fixture
def catalog(engine: Engine):  # type: ignore[no-untyped-def]
    from storage.catalog import SqlCatalog

    return SqlCatalog(engine)
