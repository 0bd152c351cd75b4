"""Engines for SQLite (embedded default, WAL) and PostgreSQL, chosen by the database URL; WAL
checkpoints off the loading thread for bulk loads into SQLite."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalise_url(url: str) -> str:
    """Let people write postgresql:// or postgres:// and still get the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def create_db_engine(url: str, *, schema: str | None = None, echo: bool = False) -> Engine:
    """An engine for ``url``; ``schema`` puts a PostgreSQL connection in its own search_path."""
    url = normalise_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args)


# WAL frames (pages) a bulk load lets the background checkpointer leave behind before it waits
# for it (about 100 MB of WAL with 4 KiB pages, five 5,000-paper batches). SQLite starts writing
# a WAL from its beginning again only once a checkpoint has caught up, so this bounds the WAL
# file of a long import.
BULK_WAL_FRAMES = 25_000


class WalCheckpointer:
    """Checkpoints a SQLite WAL on a thread of its own while one connection bulk-loads.

    The loading connection runs with ``wal_autocheckpoint=0``, so its commits no longer copy the
    WAL into the database file and fsync both on the loading thread; this thread does that with
    ``PRAGMA wal_checkpoint(PASSIVE)``, woken after every commit, on a connection of its own. A
    PASSIVE checkpoint never blocks writers or readers and never waits for them. Durability and
    consistency are SQLite's as ever (WAL, ``synchronous=NORMAL``): only the thread doing the
    work changes. If the thread fails, checkpoints simply wait for the next automatic one.
    """

    def __init__(self, engine: Engine, limit: int | None = None) -> None:
        self._limit = BULK_WAL_FRAMES if limit is None else limit
        self._cond = threading.Condition()
        self._pending = False  # a commit not checkpointed yet
        self._running = False
        self._closing = False
        self._alive = True
        self._frames = 0  # frames in the WAL at the last checkpoint
        self.checkpoints = 0
        self._conn = engine.raw_connection()
        self._thread = threading.Thread(target=self._run, name="paperbot-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """A transaction of the loading connection committed: checkpoint it."""
        with self._cond:
            self._pending = True
            self._cond.notify_all()

    def throttle(self) -> None:
        """Before a transaction: once the WAL has outgrown the limit, wait for the checkpoint of
        everything committed so far, so the next transaction starts the WAL afresh."""
        with self._cond:
            if self._frames < self._limit:
                return
            while self._alive and (self._pending or self._running):
                self._cond.wait()
            self._frames = 0

    def close(self) -> None:
        """Checkpoint what is left (emptying the WAL file if no reader is in the way), then stop
        the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._pending and not self._closing:
                        self._cond.wait()
                    final = self._closing
                    self._pending = False
                    self._running = True
                row = self._checkpoint(final)
                with self._cond:
                    self._running = False
                    self.checkpoints += 1
                    if row is not None:
                        self._frames = max(self._frames, int(row[1]))
                    self._cond.notify_all()
                if final:
                    return
        except Exception:  # an optimisation only: SQLite's own checkpoints resume after the load
            log.warning("background WAL checkpoints stopped", exc_info=True)
        finally:
            with self._cond:
                self._alive = False
                self._running = False
                self._cond.notify_all()

    def _checkpoint(self, final: bool) -> Any:
        cursor = self._conn.cursor()
        try:
            if not final:
                return cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            # The last one also empties the WAL file, when no reader is in the way (it does not
            # wait for one: with readers it is a PASSIVE checkpoint, and SQLite reuses the file).
            timeout = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
            cursor.execute("PRAGMA busy_timeout=0")
            try:
                return cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                cursor.execute(f"PRAGMA busy_timeout={int(timeout)}")
        finally:
            cursor.close()


@contextmanager
def bulk_checkpoints(conn: Connection) -> Iterator[WalCheckpointer | None]:
    """Moves the WAL checkpoints of ``conn``, a SQLite connection about to load many rows, to a
    thread of their own (:class:`WalCheckpointer`); None, and nothing changed, for a database
    that keeps no WAL (PostgreSQL, an in-memory SQLite database)."""
    if conn.dialect.name != "sqlite":
        yield None
        return
    driver: Any = conn.connection.driver_connection
    mode = driver.execute("PRAGMA journal_mode").fetchone()
    if mode is None or str(mode[0]).lower() != "wal":
        yield None
        return
    previous = driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    driver.execute("PRAGMA wal_autocheckpoint=0")
    checkpointer = WalCheckpointer(conn.engine)
    try:
        yield checkpointer
    finally:
        try:
            checkpointer.close()
        finally:
            driver.execute(f"PRAGMA wal_autocheckpoint={int(previous)}")
