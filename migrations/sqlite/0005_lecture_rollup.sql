-- Each lecture's overall status and progress, stored with every job transition, so a
-- course's progress is one aggregate over its lectures instead of a read of all their jobs.
ALTER TABLE lectures ADD COLUMN overall_status TEXT NOT NULL DEFAULT 'not_started';
ALTER TABLE lectures ADD COLUMN progress_percent INTEGER NOT NULL DEFAULT 0;
