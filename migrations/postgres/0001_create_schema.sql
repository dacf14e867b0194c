-- Courses, lectures, jobs and their attempts, artifacts, exports, threads, tombstones.
-- The same tables as migrations/sqlite/0001_create_schema.sql, in Postgres types. JSON columns
-- stay TEXT: the shared SQL stores and reads JSON text on both backends. Columns that lists are
-- ordered by (ids breaking created_at ties, export types, tombstone prefixes) use the "C"
-- collation: byte order, as in SQLite, whatever the database's locale.

CREATE TABLE courses (
    id          TEXT COLLATE "C" PRIMARY KEY,
    title       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX courses_newest ON courses (created_at DESC, id DESC);

CREATE TABLE lectures (
    id                      TEXT COLLATE "C" PRIMARY KEY,
    course_id               TEXT NOT NULL REFERENCES courses (id),
    preset_id               TEXT NOT NULL,
    title                   TEXT NOT NULL,
    status                  TEXT NOT NULL,
    duration_sec            DOUBLE PRECISION,
    source_type             TEXT NOT NULL,
    audio_path              TEXT NOT NULL,
    audio_original_filename TEXT NOT NULL,
    audio_content_type      TEXT NOT NULL,
    audio_size_bytes        BIGINT NOT NULL,
    audio_sha256            TEXT NOT NULL,
    audio_purged_at         TIMESTAMPTZ,
    transcript_path         TEXT,
    transcript_created_at   TIMESTAMPTZ,
    transcript_purged_at    TIMESTAMPTZ,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX lectures_newest ON lectures (created_at DESC, id DESC);
CREATE INDEX lectures_course_newest ON lectures (course_id, created_at DESC, id DESC);
CREATE INDEX lectures_status_newest ON lectures (status, created_at DESC, id DESC);

CREATE TABLE jobs (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    lecture_id           TEXT NOT NULL,
    job_type             TEXT NOT NULL,
    status               TEXT NOT NULL,
    attempts             INTEGER NOT NULL DEFAULT 0,
    max_attempts         INTEGER NOT NULL,
    params               TEXT NOT NULL,
    progress             DOUBLE PRECISION NOT NULL DEFAULT 0,
    result               TEXT,
    error                TEXT,
    request_id           TEXT,
    replayed_from_job_id TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    started_at           TIMESTAMPTZ,
    finished_at          TIMESTAMPTZ,
    dispatched_at        TIMESTAMPTZ,
    heartbeat_at         TIMESTAMPTZ,
    retry_at             TIMESTAMPTZ
);
-- At most one active job per lecture and stage: dedup enforced by the database.
CREATE UNIQUE INDEX jobs_one_active ON jobs (lecture_id, job_type)
    WHERE status IN ('queued', 'running');
CREATE INDEX jobs_lecture_newest ON jobs (lecture_id, created_at DESC, id DESC);
CREATE INDEX jobs_status_newest ON jobs (status, created_at DESC, id DESC);
CREATE INDEX jobs_replayed_from ON jobs (replayed_from_job_id);

CREATE TABLE job_attempts (
    job_id      TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    worker      TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    ended_at    TIMESTAMPTZ,
    outcome     TEXT,
    PRIMARY KEY (job_id, attempt)
);

CREATE TABLE artifacts (
    id            TEXT COLLATE "C" NOT NULL,
    lecture_id    TEXT NOT NULL,
    artifact_type TEXT NOT NULL,
    preset_id     TEXT NOT NULL,
    version       INTEGER NOT NULL,
    storage_path  TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    purged_at     TIMESTAMPTZ,
    PRIMARY KEY (lecture_id, artifact_type)
);

CREATE TABLE exports (
    lecture_id   TEXT NOT NULL,
    export_type  TEXT COLLATE "C" NOT NULL,
    storage_path TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    purged_at    TIMESTAMPTZ,
    PRIMARY KEY (lecture_id, export_type)
);

CREATE TABLE threads (
    id               TEXT COLLATE "C" PRIMARY KEY,
    course_id        TEXT NOT NULL,
    title            TEXT NOT NULL,
    summary          TEXT NOT NULL,
    status           TEXT NOT NULL,
    complexity_level INTEGER NOT NULL,
    lecture_refs     TEXT NOT NULL,
    evolution        TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX threads_course_newest ON threads (course_id, created_at DESC, id DESC);

CREATE TABLE tombstones (
    prefix  TEXT COLLATE "C" PRIMARY KEY,
    until   TIMESTAMPTZ NOT NULL
);
