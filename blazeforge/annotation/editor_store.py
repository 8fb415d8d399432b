"""The mesh editor's store: one SQLite file with the images to refine, the logins and every save.

Tables:
    images(id, name, position, prelabel): name relative to the project folder (`interchange.safe_name`),
        position the order people see them in (the labels file's: prelabel's most uncertain first),
        prelabel the Sample JSON the editing starts from.
    users(name, salt, hash): logins; hash = PBKDF2-SHA256 of the password (ITERATIONS rounds).
    versions(id, image, user, parent, saved, seconds, sample): every save, only ever inserted.
        parent is the version the edit started from (NULL: the prelabel), saved the Unix time in s,
        seconds the time the annotator spent on it, sample the saved Sample JSON.

The journal is SQLite's write-ahead log with synchronous=FULL: a save is on disk once its
transaction commits, which is before the server answers it, so a killed server loses no save it
has answered, and two annotators saving the same image at once each get a version of their own.
Every call opens its own connection: the server's threads share nothing but the file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from blazeforge.datasets.schema import Sample
from blazeforge.errors import BlazeforgeError

ITERATIONS = 100_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS images(
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, position INTEGER NOT NULL, prelabel TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users(name TEXT PRIMARY KEY, salt BLOB NOT NULL, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS versions(
    id INTEGER PRIMARY KEY AUTOINCREMENT, image INTEGER NOT NULL REFERENCES images(id),
    user TEXT NOT NULL REFERENCES users(name), parent INTEGER REFERENCES versions(id),
    saved REAL NOT NULL, seconds REAL NOT NULL, sample TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS versions_by_image ON versions(image, user, id);
"""


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)


class Store:
    """The SQLite file at `path` (made with its tables on first use)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.row_factory = sqlite3.Row
        return db

    def _run(self, sql: str, args: Iterable = ()) -> list[sqlite3.Row]:
        db = self._connect()
        try:
            return db.execute(sql, tuple(args)).fetchall()
        finally:
            db.close()

    # images

    def add_images(self, samples: list[Sample]) -> int:
        """Add the images of `samples` (names already safe) not in the store yet, after those that
        are, in their order; returns how many were added."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            known = {row[0] for row in db.execute("SELECT name FROM images")}
            start = db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM images").fetchone()[0]
            fresh = [s for s in samples if s.image not in known]
            db.executemany(
                "INSERT INTO images(name, position, prelabel) VALUES (?, ?, ?)",
                [(s.image, start + i, json.dumps(s.to_json())) for i, s in enumerate(fresh)],
            )
            db.execute("COMMIT")
            return len(fresh)
        finally:
            db.close()

    def images(self) -> list[dict]:
        """[{id, name, versions, users}] in position order (users: who saved a version of it)."""
        rows = self._run(
            "SELECT images.id, images.name, COUNT(versions.id) AS versions, "
            "GROUP_CONCAT(DISTINCT versions.user) AS users FROM images "
            "LEFT JOIN versions ON versions.image = images.id GROUP BY images.id ORDER BY images.position"
        )
        return [
            {
                "id": r["id"],
                "name": r["name"],
                "versions": r["versions"],
                "users": sorted(r["users"].split(",")) if r["users"] else [],
            }
            for r in rows
        ]

    def image(self, image_id: int) -> dict | None:
        """{id, name, prelabel (Sample JSON)} of one image; None where there is no such image."""
        rows = self._run("SELECT id, name, prelabel FROM images WHERE id = ?", [image_id])
        if not rows:
            return None
        return {"id": rows[0]["id"], "name": rows[0]["name"], "prelabel": json.loads(rows[0]["prelabel"])}

    # logins

    def set_password(self, user: str, password: str) -> None:
        salt = secrets.token_bytes(16)
        self._run(
            "INSERT INTO users(name, salt, hash) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET salt = excluded.salt, hash = excluded.hash",
            [user, salt, _hash(password, salt)],
        )

    def check_password(self, user: str, password: str) -> bool:
        rows = self._run("SELECT salt, hash FROM users WHERE name = ?", [user])
        return bool(rows) and hmac.compare_digest(_hash(password, rows[0]["salt"]), rows[0]["hash"])

    # versions

    def save(self, image_id: int, user: str, sample: Sample, parent: int | None, seconds: float) -> int:
        """Insert a version; returns its id. One line where the parent is not a version of this image."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            if (
                parent is not None
                and not db.execute("SELECT 1 FROM versions WHERE id = ? AND image = ?", (parent, image_id)).fetchone()
            ):
                db.execute("ROLLBACK")
                raise BlazeforgeError("parent", f"version {parent} is not a version of image {image_id}")
            cursor = db.execute(
                "INSERT INTO versions(image, user, parent, saved, seconds, sample) VALUES (?, ?, ?, ?, ?, ?)",
                (image_id, user, parent, time.time(), float(seconds), json.dumps(sample.to_json())),
            )
            db.execute("COMMIT")
            return int(cursor.lastrowid)
        finally:
            db.close()

    def versions(self, image_id: int) -> list[dict]:
        """[{id, user, parent, saved, seconds}] of an image, oldest first."""
        rows = self._run(
            "SELECT id, user, parent, saved, seconds FROM versions WHERE image = ? ORDER BY id", [image_id]
        )
        return [dict(r) for r in rows]

    def version(self, version_id: int) -> dict | None:
        """{id, image, user, parent, saved, seconds, sample (Sample JSON)}; None where there is none."""
        rows = self._run("SELECT * FROM versions WHERE id = ?", [version_id])
        if not rows:
            return None
        out = dict(rows[0])
        out["sample"] = json.loads(out["sample"])
        return out

    def latest(self) -> list[dict]:
        """Each annotator's last version of each image, with the seconds they spent on it in all:
        [{image (name), user, id, seconds, versions, sample}] in image then user order."""
        rows = self._run(
            "SELECT images.name AS image, v.user, v.id, v.sample, totals.seconds, totals.versions "
            "FROM versions v JOIN images ON images.id = v.image "
            "JOIN (SELECT image, user, MAX(id) AS last, SUM(seconds) AS seconds, COUNT(*) AS versions "
            "      FROM versions GROUP BY image, user) totals ON totals.last = v.id "
            "ORDER BY images.position, v.user"
        )
        return [{**dict(r), "sample": json.loads(r["sample"])} for r in rows]
