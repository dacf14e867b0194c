-- Each lecture's overall status and progress, stored with every job transition, so a
-- course's progress is one aggregate over its lectures instead of a read of all their jobs.
ALTER TABLE lectures ADD COLUMN overall_status TEXT NOT NULL DEFAULT 'not_started';
ALTER TABLE lectures ADD COLUMN progress_percent INTEGER NOT NULL DEFAULT 0;

-- Columns that refer to ids use the ids' byte-order collation too: a join or lookup across
-- different collations cannot use the index (a full scan of jobs per lecture).
DROP TRIGGER lecture_counts_update ON lectures;
ALTER TABLE lectures ALTER COLUMN course_id TYPE TEXT COLLATE "C";
CREATE TRIGGER lecture_counts_update AFTER UPDATE OF course_id, preset_id, status ON lectures
    FOR EACH ROW
    WHEN (OLD.course_id IS DISTINCT FROM NEW.course_id
          OR OLD.preset_id IS DISTINCT FROM NEW.preset_id
          OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION lecture_counts_apply();
ALTER TABLE jobs ALTER COLUMN lecture_id TYPE TEXT COLLATE "C";
ALTER TABLE jobs ALTER COLUMN replayed_from_job_id TYPE TEXT COLLATE "C";
ALTER TABLE job_attempts ALTER COLUMN job_id TYPE TEXT COLLATE "C";
ALTER TABLE artifacts ALTER COLUMN lecture_id TYPE TEXT COLLATE "C";
ALTER TABLE exports ALTER COLUMN lecture_id TYPE TEXT COLLATE "C";
ALTER TABLE threads ALTER COLUMN course_id TYPE TEXT COLLATE "C";
