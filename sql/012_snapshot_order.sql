-- 012_snapshot_order.sql - the generators' scan in byte order (issue 15)
--
-- A relay's generation reads every domain ORDER BY name COLLATE "C"
-- (its readers binary-search with strcmp, whatever the database's
-- collation).  Without an index in that collation PostgreSQL sorted the
-- wide rows, on disk past work_mem (100k domains: 24 MB of temp files,
-- 0.25 s of the 0.6 s a generation took); this index gives the rows in
-- order instead.

CREATE INDEX domains_name_c ON domains (name COLLATE "C");
