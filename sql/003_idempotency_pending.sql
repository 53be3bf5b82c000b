-- 003_idempotency_pending.sql - reserve an Idempotency-Key before the
-- request runs, and keep the answer's headers
--
-- A key used to be stored after its request had run, so two requests
-- with one new key at the same time both ran.  Now the first inserts a
-- pending row (status NULL) before it runs and fills it in afterwards;
-- a second request with the key finds the row and is told the first is
-- in progress (409) or, once it is done, gets its answer.  A replay
-- answers the first answer's status, body and headers (Location, ETag:
-- a JSON object of name -> value).

ALTER TABLE idempotency_keys ALTER COLUMN status DROP NOT NULL;
ALTER TABLE idempotency_keys
	ADD COLUMN headers text NOT NULL DEFAULT '{}';
