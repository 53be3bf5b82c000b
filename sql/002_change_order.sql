-- 002_change_order.sql - change numbers in commit order
--
-- A change's sequence number was taken when its row was inserted, not
-- when its transaction committed: a transaction holding number 10
-- could commit after one holding 11 had committed and been applied by
-- the relays.  A relay that applied 11 would then never apply 10 (its
-- applied number is already past it), and a mailbox job made with
-- after_seq 11 could run before any relay routed by 10.
--
-- Every writer now takes one transaction-scoped advisory lock before it
-- takes a number, and holds it until it commits: numbers are handed
-- out, and become visible, in one order.  Writers of changes wait for
-- each other only from their first change to their commit, which is a
-- few milliseconds.

CREATE FUNCTION changes_in_order() RETURNS void
LANGUAGE sql AS $$
	SELECT pg_advisory_xact_lock(7239451083)
$$;

CREATE OR REPLACE FUNCTION domains_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM changes_in_order();
	IF TG_OP = 'DELETE' THEN
		INSERT INTO changes (domain, what) VALUES (OLD.name, 'domain-remove');
		RETURN OLD;
	END IF;
	INSERT INTO changes (domain, what)
		VALUES (NEW.name, 'domain-' || lower(TG_OP));
	RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION domain_part_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	d bigint;
BEGIN
	PERFORM changes_in_order();
	IF TG_OP = 'DELETE' THEN
		d := OLD.domain_id;
	ELSE
		d := NEW.domain_id;
	END IF;
	INSERT INTO changes (domain, what)
		SELECT name, TG_TABLE_NAME || '-' || lower(TG_OP)
		  FROM domains WHERE id = d;
	RETURN NULL;
END $$;
