-- Lecture counts per (course, preset, status), kept by triggers, so a list's exact total is
-- a sum over a few counter rows instead of a count over every lecture.
CREATE TABLE lecture_counts (
    course_id  TEXT NOT NULL,
    preset_id  TEXT NOT NULL,
    status     TEXT NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (course_id, preset_id, status)
);

INSERT INTO lecture_counts (course_id, preset_id, status, n)
    SELECT course_id, preset_id, status, COUNT(*) FROM lectures
    GROUP BY course_id, preset_id, status;

CREATE TRIGGER lecture_counts_insert AFTER INSERT ON lectures BEGIN
    INSERT INTO lecture_counts (course_id, preset_id, status, n)
        VALUES (NEW.course_id, NEW.preset_id, NEW.status, 1)
        ON CONFLICT (course_id, preset_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER lecture_counts_delete AFTER DELETE ON lectures BEGIN
    UPDATE lecture_counts SET n = n - 1
        WHERE course_id = OLD.course_id AND preset_id = OLD.preset_id AND status = OLD.status;
END;

CREATE TRIGGER lecture_counts_update AFTER UPDATE OF course_id, preset_id, status ON lectures
WHEN OLD.course_id IS NOT NEW.course_id OR OLD.preset_id IS NOT NEW.preset_id
     OR OLD.status IS NOT NEW.status
BEGIN
    UPDATE lecture_counts SET n = n - 1
        WHERE course_id = OLD.course_id AND preset_id = OLD.preset_id AND status = OLD.status;
    INSERT INTO lecture_counts (course_id, preset_id, status, n)
        VALUES (NEW.course_id, NEW.preset_id, NEW.status, 1)
        ON CONFLICT (course_id, preset_id, status) DO UPDATE SET n = n + 1;
END;
