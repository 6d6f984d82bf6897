-- Every evaluation batch updates the series state of every (rule, subject) it looks at, and
-- none of the columns it writes is indexed: with room left on each page those updates are HOT
-- (no new primary-key entry, dead versions pruned in place). At the default fillfactor (100)
-- the pages are full after the first insert, so each update moved the row to another page
-- and wrote an index entry. Pages written from now on keep the room; existing ones gain it as
-- their rows move (`VACUUM FULL` rewrites them at once).
ALTER TABLE alert_series SET (fillfactor = 50);
