-- The last heartbeat an attempt wrote, kept when the attempt is taken back, so recovery
-- times can be read from the attempt records.
ALTER TABLE job_attempts ADD COLUMN last_heartbeat_at TEXT;
