"""Shared fixtures: adapters of every port, and a Pegasus on in-memory adapters."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pegasus_adapters.bootstrap import open_pegasus
from pegasus_adapters.local_blob_store import LocalBlobStore
from pegasus_adapters.memory.blob_store import InMemoryBlobStore
from pegasus_adapters.memory.scripted_language_model import ScriptedLanguageModel
from pegasus_adapters.memory.scripted_transcriber import ScriptedTranscriber
from pegasus_adapters.settings import Settings
from pegasus_adapters.sqlite.unit_of_work import SqliteDatabase, open_sqlite
from pegasus_core.pegasus import Pegasus
from pegasus_core.ports.blob_store import BlobStore
from pegasus_core.ports.repository import UnitOfWorkFactory
from tests.s3_server import (  # noqa: F401  (fixtures, registered by import)
    s3_admin,
    s3_blob_store,
    s3_bucket,
    s3_endpoint,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "lecture.opus"

LECTURE_TEXT = (
    "Today we study the water cycle. Evaporation is the process by which water turns into "
    "vapour when the sun heats oceans and lakes. Condensation is the change of water vapour "
    "back into liquid droplets, which form clouds. Precipitation is water falling from clouds "
    "as rain, snow or hail. For example, a summer storm returns water to the ground. "
    "Groundwater is water stored beneath the surface in soil and rock. Transpiration is the "
    "release of water vapour from the leaves of plants. The water cycle moves heat around "
    "the planet and shapes the weather. Rivers carry runoff back to the oceans, where "
    "evaporation begins again. "
) * 2


class StepClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.current = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


POSTGRES_URL = os.environ.get(
    "PEGASUS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PEGASUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def queue_namespace() -> Iterator[str]:
    """A Dramatiq namespace of the test's own on the machine's Redis, emptied afterwards.

    Workers leave heartbeats, acks and message hashes under it, and they never expire.
    """
    import redis

    namespace = f"test-{uuid.uuid4().hex}"
    yield namespace
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        keys = list(client.scan_iter(f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass  # Redis did not answer: the test was skipped or failed on it, and wrote nothing
    finally:
        client.close()


async def require_redis() -> None:
    """Skip the test when the machine's Redis does not answer; under CI, fail it instead."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception:
        if os.environ.get("CI"):
            pytest.fail(f"Redis unreachable at {REDIS_URL} under CI")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    finally:
        await client.aclose()


@pytest.fixture
async def memory_uow_factory() -> AsyncIterator[SqliteDatabase]:
    async with open_sqlite(None) as database:
        yield database


@pytest.fixture
async def sqlite_uow_factory(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    async with open_sqlite(tmp_path / "db.sqlite3") as database:
        yield database


@pytest.fixture
async def postgres_conninfo() -> AsyncIterator[str]:
    """A connection string into a fresh, empty schema of the test database, dropped after.

    Skips when the server is unreachable, except under CI, which never skips. The schema name
    is also the connections' application_name, so a test can find its own backends.
    """
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    try:
        admin = await psycopg.AsyncConnection.connect(
            POSTGRES_URL, autocommit=True, connect_timeout=5
        )
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Postgres unreachable at PEGASUS_TEST_POSTGRES_URL under CI: {exc}")
        pytest.skip(f"Postgres unreachable at PEGASUS_TEST_POSTGRES_URL: {exc}")
    schema = f"t_{uuid.uuid4().hex}"
    async with admin:
        await admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        try:
            yield make_conninfo(
                POSTGRES_URL, options=f"-c search_path={schema}", application_name=schema
            )
        finally:
            await admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
async def postgres_uow_factory(postgres_conninfo: str) -> AsyncIterator[UnitOfWorkFactory]:
    from pegasus_adapters.postgres.unit_of_work import open_postgres

    async with open_postgres(postgres_conninfo) as database:
        yield database


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def uow_factory(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    """Every repository adapter; a missing server skips (or, under CI, fails) only its param."""
    factory: UnitOfWorkFactory = request.getfixturevalue(f"{request.param}_uow_factory")
    return factory


@pytest.fixture(params=["memory", "local", "s3"])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """Every BlobStore adapter (s3: on the session's moto_server)."""
    if request.param == "memory":
        return InMemoryBlobStore()
    if request.param == "s3":
        store: BlobStore = request.getfixturevalue("s3_blob_store")
        return store
    return LocalBlobStore(tmp_path / "blobs")


def memory_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a Pegasus on in-memory adapters with jobs run inline."""
    values: dict[str, object] = {
        "repository": "memory",
        "blob_store": "memory",
        "job_queue": "inline",
        "storage_dir": str(tmp_path / "storage"),
        "transcriber": "scripted",
        "generator": "offline",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def scripted_transcriber() -> ScriptedTranscriber:
    return ScriptedTranscriber(LECTURE_TEXT, chunk_sec=5.0, words_per_sec=3.0)


@pytest.fixture
async def pegasus(
    tmp_path: Path, scripted_transcriber: ScriptedTranscriber
) -> AsyncIterator[Pegasus]:
    """A Pegasus on in-memory adapters, scripted speech and the offline generator."""
    async with open_pegasus(
        memory_settings(tmp_path), transcriber=scripted_transcriber
    ) as instance:
        yield instance


@pytest.fixture
def scripted_llm() -> ScriptedLanguageModel:
    return ScriptedLanguageModel()


@pytest.fixture(scope="session")
def speech_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve seconds of the sample lecture as WAV."""
    from tests.audio_fixtures import make_speech_clip

    return make_speech_clip(tmp_path_factory.mktemp("clips") / "clip.wav", 12.0, "wav")
