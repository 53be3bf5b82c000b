-- 011_quarantine_digest.sql - the daily quarantine digest (issue 17)
--
-- quarantine_digest: the address that gets a domain's daily list of
-- quarantined mail ('' = none).  quarantine_digests: one row per relay,
-- domain and UTC day a digest went out, claimed before it is sent, so
-- that a relay sends at most one a day per domain across restarts.

ALTER TABLE domains ADD COLUMN quarantine_digest text NOT NULL DEFAULT ''
	CHECK (octet_length(quarantine_digest) <= 254
	       AND quarantine_digest !~ '[\x01-\x20\x7f]');

CREATE TABLE quarantine_digests (
	relay text NOT NULL,
	domain text NOT NULL,
	day date NOT NULL,
	messages integer NOT NULL CHECK (messages > 0),
	sent_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (relay, domain, day)
);
CREATE INDEX quarantine_digests_day ON quarantine_digests (day);

GRANT SELECT, INSERT, DELETE ON quarantine_digests TO mxfeed_app;
