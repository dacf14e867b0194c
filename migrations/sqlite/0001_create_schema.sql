-- Courses, lectures, jobs and their attempts, artifacts, exports, threads, tombstones.
-- Timestamps are UTC RFC 3339 text with microseconds, so text order is time order.

CREATE TABLE courses (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX courses_newest ON courses (created_at DESC, id DESC);

CREATE TABLE lectures (
    id                      TEXT PRIMARY KEY,
    course_id               TEXT NOT NULL REFERENCES courses (id),
    preset_id               TEXT NOT NULL,
    title                   TEXT NOT NULL,
    status                  TEXT NOT NULL,
    duration_sec            REAL,
    source_type             TEXT NOT NULL,
    audio_path              TEXT NOT NULL,
    audio_original_filename TEXT NOT NULL,
    audio_content_type      TEXT NOT NULL,
    audio_size_bytes        INTEGER NOT NULL,
    audio_sha256            TEXT NOT NULL,
    audio_purged_at         TEXT,
    transcript_path         TEXT,
    transcript_created_at   TEXT,
    transcript_purged_at    TEXT,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL
);
CREATE INDEX lectures_newest ON lectures (created_at DESC, id DESC);
CREATE INDEX lectures_course_newest ON lectures (course_id, created_at DESC, id DESC);
CREATE INDEX lectures_status_newest ON lectures (status, created_at DESC, id DESC);

CREATE TABLE jobs (
    id                   TEXT PRIMARY KEY,
    lecture_id           TEXT NOT NULL,
    job_type             TEXT NOT NULL,
    status               TEXT NOT NULL,
    attempts             INTEGER NOT NULL DEFAULT 0,
    max_attempts         INTEGER NOT NULL,
    params               TEXT NOT NULL,
    progress             REAL NOT NULL DEFAULT 0,
    result               TEXT,
    error                TEXT,
    request_id           TEXT,
    replayed_from_job_id TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    started_at           TEXT,
    finished_at          TEXT,
    dispatched_at        TEXT,
    heartbeat_at         TEXT,
    retry_at             TEXT
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
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    outcome     TEXT,
    PRIMARY KEY (job_id, attempt)
);

CREATE TABLE artifacts (
    id            TEXT NOT NULL,
    lecture_id    TEXT NOT NULL,
    artifact_type TEXT NOT NULL,
    preset_id     TEXT NOT NULL,
    version       INTEGER NOT NULL,
    storage_path  TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    purged_at     TEXT,
    PRIMARY KEY (lecture_id, artifact_type)
);

CREATE TABLE exports (
    lecture_id   TEXT NOT NULL,
    export_type  TEXT NOT NULL,
    storage_path TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    purged_at    TEXT,
    PRIMARY KEY (lecture_id, export_type)
);

CREATE TABLE threads (
    id               TEXT PRIMARY KEY,
    course_id        TEXT NOT NULL,
    title            TEXT NOT NULL,
    summary          TEXT NOT NULL,
    status           TEXT NOT NULL,
    complexity_level INTEGER NOT NULL,
    lecture_refs     TEXT NOT NULL,
    evolution        TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX threads_course_newest ON threads (course_id, created_at DESC, id DESC);

CREATE TABLE tombstones (
    prefix  TEXT PRIMARY KEY,
    until   TEXT NOT NULL
);
