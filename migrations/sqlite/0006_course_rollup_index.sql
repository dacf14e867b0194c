-- A course's progress aggregates its lectures' overall status, progress and last update.
-- The course index carries them, so the aggregate reads the index alone (a covering index)
-- instead of one table row per lecture.
DROP INDEX lectures_course_newest;
CREATE INDEX lectures_course_newest
    ON lectures (course_id, created_at DESC, id DESC, overall_status, progress_percent, updated_at);
