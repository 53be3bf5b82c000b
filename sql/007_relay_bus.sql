-- 007_relay_bus.sql - the database is the bus between staff and relays
--
-- Staff work from hosts without a relay (seed 001), so the queue a
-- command acts on is not on their host.  Each relay's "mta-glue sync"
-- publishes its queue, per domain, into relay_queue (the whole set of
-- its rows replaced in one transaction, relays.queue_as_of saying when)
-- and runs the commands staff queue for it in relay_commands, writing
-- back the result or the error.  No daemon port is added: the relay
-- already holds a connection and LISTENs; a new command NOTIFYs it.

ALTER TABLE relays ADD COLUMN queue_as_of timestamptz;
ALTER TABLE relays ADD COLUMN queue_total integer CHECK (queue_total >= 0);

CREATE TABLE relay_queue (
	relay text NOT NULL REFERENCES relays (name) ON DELETE CASCADE,
	domain text NOT NULL CHECK (domain ~ '^[a-z0-9.-]{1,253}$'),
	count integer NOT NULL CHECK (count > 0),
	oldest timestamptz,
	-- at most the first 200 messages: queue_id, sender, recipients,
	-- arrival, reason, queue (the shape of SPEC section 10)
	messages jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(messages) = 'array'),
	PRIMARY KEY (relay, domain)
);
CREATE INDEX relay_queue_domain ON relay_queue (domain);

CREATE TABLE relay_commands (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	relay text NOT NULL REFERENCES relays (name) ON DELETE CASCADE,
	verb text NOT NULL
		CHECK (verb IN ('publish', 'flush', 'bounce', 'release', 'delete')),
	domain text CHECK (domain ~ '^[a-z0-9.-]{1,253}$'),
	-- release and delete act on one quarantined message
	queue_id text CHECK (queue_id ~ '^[0-9A-Za-z]{5,23}$'),
	state text NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'done', 'failed', 'expired')),
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL CHECK (created_by ~ '^[ -~]{1,128}$'),
	-- a relay that is down runs what it finds on its return, until then
	expires_at timestamptz NOT NULL,
	done_at timestamptz,
	result jsonb,
	error text CHECK (octet_length(error) <= 1024),
	CHECK ((verb = 'publish') = (domain IS NULL)),
	CHECK ((verb IN ('release', 'delete')) = (queue_id IS NOT NULL))
);
CREATE INDEX relay_commands_pending ON relay_commands (relay, id)
	WHERE state = 'pending';

CREATE FUNCTION relay_commands_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('mxfeed_relay_commands', NEW.relay);
	RETURN NULL;
END $$;
CREATE TRIGGER relay_commands_notify AFTER INSERT ON relay_commands
	FOR EACH ROW EXECUTE FUNCTION relay_commands_notify();

GRANT SELECT, INSERT, UPDATE, DELETE ON relay_queue, relay_commands
	TO mxfeed_app;

-- A relay taken out of service ("feedctl relay retire"): no view, command,
-- propagation count or job waits for it any more.  Its row stays, with
-- when and by whom; "relay activate" puts it back.
ALTER TABLE relays DROP CONSTRAINT relays_role_check;
ALTER TABLE relays ADD CONSTRAINT relays_role_check
	CHECK (role IN ('relay', 'mailbox', 'retired'));
ALTER TABLE relays ADD COLUMN retired_at timestamptz;
ALTER TABLE relays ADD COLUMN retired_by text
	CHECK (retired_by ~ '^[ -~]{1,128}$');

-- A relay reading from a streaming standby (database.read_conninfo)
-- reports the standby's replay lag; NULL when it reads the primary.
ALTER TABLE relays ADD COLUMN read_lag_ms bigint CHECK (read_lag_ms >= 0);
