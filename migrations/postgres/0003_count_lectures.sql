-- Lecture counts per (course, preset, status), kept by a trigger, so a list's exact total is
-- a sum over a few counter rows instead of a count over every lecture.
CREATE TABLE lecture_counts (
    course_id  TEXT COLLATE "C" NOT NULL,
    preset_id  TEXT NOT NULL,
    status     TEXT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (course_id, preset_id, status)
);

INSERT INTO lecture_counts (course_id, preset_id, status, n)
    SELECT course_id, preset_id, status, COUNT(*) FROM lectures
    GROUP BY course_id, preset_id, status;

CREATE FUNCTION lecture_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE lecture_counts SET n = n - 1
            WHERE course_id = OLD.course_id AND preset_id = OLD.preset_id
              AND status = OLD.status;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO lecture_counts (course_id, preset_id, status, n)
            VALUES (NEW.course_id, NEW.preset_id, NEW.status, 1)
            ON CONFLICT (course_id, preset_id, status)
            DO UPDATE SET n = lecture_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER lecture_counts_insert_delete AFTER INSERT OR DELETE ON lectures
    FOR EACH ROW EXECUTE FUNCTION lecture_counts_apply();

CREATE TRIGGER lecture_counts_update AFTER UPDATE OF course_id, preset_id, status ON lectures
    FOR EACH ROW
    WHEN (OLD.course_id IS DISTINCT FROM NEW.course_id
          OR OLD.preset_id IS DISTINCT FROM NEW.preset_id
          OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION lecture_counts_apply();
