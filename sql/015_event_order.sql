-- 015_event_order.sql - tracking steps in the order Postfix logged them
--
-- Postfix logs to the second, and a quarantined message released at
-- once is held, released and delivered within one second: ordered by
-- time alone, its steps came back in whatever order the database
-- chose ("delivered, released").  Each row now carries the position it
-- was recorded in, taken in log order as mta-glue reads the log, and a
-- trace orders by time and then by it.

CREATE SEQUENCE message_events_seq AS bigint;
ALTER TABLE message_events ADD COLUMN seq bigint NOT NULL
	DEFAULT nextval('message_events_seq');
ALTER SEQUENCE message_events_seq OWNED BY message_events.seq;
-- mta-glue records the events as mxfeed_app: nextval() is its to call
GRANT USAGE ON SEQUENCE message_events_seq TO mxfeed_app;
