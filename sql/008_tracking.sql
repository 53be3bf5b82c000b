-- 008_tracking.sql - message tracking: where did my mail go?
--
-- Each relay's mta-glue sync follows its Postfix log and records one
-- row per message and step (lib/maillog.c, lib/track.c): refused,
-- greylisted, accepted, virus, deleted as spam, delivered, deferred,
-- bounced, expired.  Rows are partitioned by day; mx_events_prepare()
-- (run by the relays, as the owner: the application role creates no
-- tables) adds the days ahead and drops those past the retention.

CREATE TABLE message_events (
	at timestamptz NOT NULL,
	relay text NOT NULL CHECK (relay ~ '^[A-Za-z0-9.-]{1,63}$'),
	queue_id text CHECK (queue_id ~ '^[0-9A-Za-z]{5,23}$'),
	message_id text CHECK (octet_length(message_id) <= 255),
	sender text CHECK (octet_length(sender) <= 320),
	recipient text CHECK (octet_length(recipient) <= 320),
	-- the recipient's domain, lower case: what scoped searches use
	domain text CHECK (octet_length(domain) <= 253),
	client text CHECK (octet_length(client) <= 63),
	helo text CHECK (octet_length(helo) <= 255),
	verdict text NOT NULL CHECK (verdict IN ('accepted', 'refused',
		'greylisted', 'deferred', 'virus', 'spam', 'deleted',
		'delivered', 'bounced', 'expired', 'quarantined', 'released')),
	code text CHECK (octet_length(code) <= 7),
	reply text CHECK (octet_length(reply) <= 511),
	destination text CHECK (octet_length(destination) <= 127)
) PARTITION BY RANGE (at);

-- rows outside every day's partition land here rather than being lost
CREATE TABLE message_events_default PARTITION OF message_events DEFAULT;

CREATE INDEX message_events_domain ON message_events (domain, at);
CREATE INDEX message_events_recipient ON message_events (lower(recipient), at);
CREATE INDEX message_events_sender ON message_events (lower(sender), at);
CREATE INDEX message_events_message_id ON message_events (message_id);
CREATE INDEX message_events_queue ON message_events (relay, queue_id);

CREATE FUNCTION mx_events_prepare(keep_days integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
	d date;
	t record;
	dropped integer := 0;
BEGIN
	IF keep_days < 1 OR keep_days > 3660 THEN
		RAISE EXCEPTION 'keep_days out of range: %', keep_days;
	END IF;
	FOR i IN 0..2 LOOP
		d := (now() AT TIME ZONE 'UTC')::date + i;
		IF to_regclass('message_events_' || to_char(d, 'YYYYMMDD')) IS NULL THEN
			BEGIN
				EXECUTE format('CREATE TABLE %I PARTITION OF message_events'
					' FOR VALUES FROM (%L) TO (%L)',
					'message_events_' || to_char(d, 'YYYYMMDD'),
					d::timestamp AT TIME ZONE 'UTC',
					(d + 1)::timestamp AT TIME ZONE 'UTC');
			EXCEPTION WHEN check_violation OR invalid_object_definition THEN
				-- that day's rows sit in the default partition: leave it
				NULL;
			END;
		END IF;
	END LOOP;
	FOR t IN SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'message_events'::regclass
		  AND c.relname ~ '^message_events_[0-9]{8}$'
		  AND to_date(substr(c.relname, 16), 'YYYYMMDD')
		      < (now() AT TIME ZONE 'UTC')::date - keep_days
	LOOP
		EXECUTE format('DROP TABLE %I', t.relname);
		dropped := dropped + 1;
	END LOOP;
	DELETE FROM message_events_default
		WHERE at < (now() AT TIME ZONE 'UTC')::date - keep_days;
	RETURN dropped;
END $$;
REVOKE ALL ON FUNCTION mx_events_prepare(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mx_events_prepare(integer) TO mxfeed_app;

GRANT SELECT, INSERT ON message_events TO mxfeed_app;
