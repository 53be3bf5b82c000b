-- 001_init.sql - the mxfeed schema (SPEC section 3)
--
-- Applied by "feedctl db migrate" as the owner role inside one
-- transaction.  The CHECKs repeat the bounds of the validators in lib/,
-- so a row that lib/ would refuse cannot be stored by any other path
-- either.  The application role mxfeed_app may read and write the
-- working tables but may only INSERT into audit and changes, and cannot
-- alter the schema.

-- Timestamps leave the database as RFC 3339 UTC text.
CREATE FUNCTION mx_utc(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

CREATE TABLE domains (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL UNIQUE
		CHECK (octet_length(name) BETWEEN 3 AND 253
		       AND name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$'),
	unicode_name text NOT NULL CHECK (octet_length(unicode_name) BETWEEN 3 AND 1024),
	mode text NOT NULL CHECK (mode IN ('pop3', 'feed', 'backup')),
	temp_pop3_since timestamptz,
	temp_pop3_by text CHECK (octet_length(temp_pop3_by) BETWEEN 1 AND 64),
	dest_host inet,
	dest_port integer CHECK (dest_port BETWEEN 1 AND 65535),
	fallback_hosts inet[] NOT NULL DEFAULT '{}',
	fallback_ports integer[] NOT NULL DEFAULT '{}',
	greylisting boolean NOT NULL DEFAULT true,
	spam_enabled boolean NOT NULL DEFAULT false,
	spam_low_action text NOT NULL DEFAULT 'subject',
	spam_med_action text NOT NULL DEFAULT 'subject',
	spam_high_action text NOT NULL DEFAULT 'delete',
	spam_low_text text NOT NULL DEFAULT '[SPAM: low] ',
	spam_med_text text NOT NULL DEFAULT '[SPAM: med] ',
	spam_high_text text NOT NULL DEFAULT '[SPAM: high] ',
	queue_days integer NOT NULL CHECK (queue_days BETWEEN 1 AND 31),
	queue_extended_until timestamptz,
	recipients text NOT NULL DEFAULT 'verify'
		CHECK (recipients IN ('verify', 'list', 'any')),
	max_message_mb integer NOT NULL CHECK (max_message_mb BETWEEN 1 AND 1024),
	version bigint NOT NULL CHECK (version >= 1),
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL CHECK (octet_length(created_by) BETWEEN 1 AND 64),
	updated_at timestamptz NOT NULL DEFAULT now(),
	updated_by text NOT NULL CHECK (octet_length(updated_by) BETWEEN 1 AND 64),
	ticket text NOT NULL DEFAULT '' CHECK (octet_length(ticket) <= 64),
	CHECK ((mode = 'pop3') = (dest_host IS NULL)),
	CHECK ((dest_host IS NULL) = (dest_port IS NULL)),
	CHECK (dest_host IS NULL OR masklen(dest_host) = CASE family(dest_host) WHEN 4 THEN 32 ELSE 128 END),
	CHECK (cardinality(fallback_hosts) <= 8
	       AND cardinality(fallback_hosts) = cardinality(fallback_ports)),
	CHECK (mode <> 'pop3' OR cardinality(fallback_hosts) = 0),
	CHECK (mode <> 'pop3' OR temp_pop3_since IS NULL),
	CHECK ((temp_pop3_since IS NULL) = (temp_pop3_by IS NULL)),
	CHECK (spam_low_action IN ('none', 'header', 'subject', 'delete')
	       AND spam_med_action IN ('none', 'header', 'subject', 'delete')
	       AND spam_high_action IN ('none', 'header', 'subject', 'delete')),
	CHECK (octet_length(spam_low_text) <= 64 AND spam_low_text !~ '[\x01-\x1f\x7f]'
	       AND octet_length(spam_med_text) <= 64 AND spam_med_text !~ '[\x01-\x1f\x7f]'
	       AND octet_length(spam_high_text) <= 64 AND spam_high_text !~ '[\x01-\x1f\x7f]')
);

-- Mailbox ids are never reused: the maildir is named after the id, so a
-- recreated mailbox or domain never sees old mail.
CREATE TABLE mailboxes (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	domain_id bigint NOT NULL REFERENCES domains (id) ON DELETE RESTRICT,
	local text NOT NULL CHECK (local ~ '^[a-z0-9_+-]+(\.[a-z0-9_+-]+)*$'
				   AND octet_length(local) <= 64),
	password_hash text NOT NULL
		CHECK (password_hash ~ '^\{(SHA512-CRYPT|ARGON2ID)\}\$'),
	temporary boolean NOT NULL DEFAULT false,
	catch_all boolean NOT NULL DEFAULT false,
	quota_mb integer NOT NULL DEFAULT 0 CHECK (quota_mb >= 0),
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz,
	UNIQUE (domain_id, local)
);
CREATE UNIQUE INDEX mailboxes_one_catch_all ON mailboxes (domain_id) WHERE catch_all;

CREATE TABLE recipients (
	domain_id bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
	local text NOT NULL CHECK (local ~ '^[a-z0-9_+-]+(\.[a-z0-9_+-]+)*$'
				   AND octet_length(local) <= 64),
	PRIMARY KEY (domain_id, local)
);

CREATE TABLE sender_rules (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	domain_id bigint NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
	action text NOT NULL CHECK (action IN ('allow', 'block')),
	kind text NOT NULL CHECK (kind IN ('address-regex', 'client-cidr')),
	value text NOT NULL CHECK (octet_length(value) BETWEEN 1 AND 256
				   AND value ~ '^[ -~]+$'),
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (domain_id, action, kind, value)
);

-- Append-only: rows name the domain by text so they survive its removal.
CREATE TABLE audit (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	actor text NOT NULL CHECK (octet_length(actor) BETWEEN 1 AND 64),
	ticket text NOT NULL DEFAULT '' CHECK (octet_length(ticket) <= 64),
	action text NOT NULL CHECK (action ~ '^[a-z][a-z0-9-]{0,31}$'),
	domain text,            -- NULL for site-wide changes (tokens)
	old jsonb,
	new jsonb
);
CREATE INDEX audit_domain ON audit (domain, id);

CREATE FUNCTION audit_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit rows are never changed or deleted'
		USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
	FOR EACH STATEMENT EXECUTE FUNCTION audit_is_append_only();

-- Every committed change of what the relays serve adds one row; its
-- sequence number is NOTIFYed on mxfeed_changes at commit.
CREATE TABLE changes (
	seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	domain text NOT NULL,
	what text NOT NULL
);
CREATE INDEX changes_domain ON changes (domain, seq);

CREATE FUNCTION changes_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('mxfeed_changes', NEW.seq::text);
	RETURN NULL;
END $$;
CREATE TRIGGER changes_notify AFTER INSERT ON changes
	FOR EACH ROW EXECUTE FUNCTION changes_notify();

CREATE FUNCTION domains_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		INSERT INTO changes (domain, what) VALUES (OLD.name, 'domain-remove');
		RETURN OLD;
	END IF;
	INSERT INTO changes (domain, what)
		VALUES (NEW.name, 'domain-' || lower(TG_OP));
	RETURN NEW;
END $$;
CREATE TRIGGER domains_changed AFTER INSERT OR UPDATE OR DELETE ON domains
	FOR EACH ROW EXECUTE FUNCTION domains_changed();

-- Mailboxes, recipients and rules are served by the relays too.
CREATE FUNCTION domain_part_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	d bigint;
BEGIN
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
CREATE TRIGGER mailboxes_changed AFTER INSERT OR UPDATE OR DELETE ON mailboxes
	FOR EACH ROW EXECUTE FUNCTION domain_part_changed();
CREATE TRIGGER recipients_changed AFTER INSERT OR UPDATE OR DELETE ON recipients
	FOR EACH ROW EXECUTE FUNCTION domain_part_changed();
CREATE TRIGGER sender_rules_changed AFTER INSERT OR UPDATE OR DELETE ON sender_rules
	FOR EACH ROW EXECUTE FUNCTION domain_part_changed();

CREATE TABLE relays (
	name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9.-]{1,63}$'),
	addresses inet[] NOT NULL DEFAULT '{}',
	role text NOT NULL DEFAULT 'relay' CHECK (role IN ('relay', 'mailbox')),
	applied_seq bigint NOT NULL DEFAULT 0,
	applied_at timestamptz,
	last_error text CHECK (octet_length(last_error) <= 1024),
	heartbeat timestamptz
);

CREATE TABLE jobs (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9-]{0,31}$'),
	domain text NOT NULL,
	payload jsonb NOT NULL DEFAULT '{}',
	state text NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'running', 'done', 'failed')),
	step integer NOT NULL DEFAULT 0,
	attempts integer NOT NULL DEFAULT 0,
	after_seq bigint NOT NULL DEFAULT 0,
	run_after timestamptz NOT NULL DEFAULT now(),
	lease_until timestamptz,
	leased_by text,
	last_error text CHECK (octet_length(last_error) <= 1024),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL
);
CREATE INDEX jobs_runnable ON jobs (run_after) WHERE state IN ('pending', 'running');
CREATE INDEX jobs_domain ON jobs (domain, id);

CREATE TABLE api_tokens (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
	hash bytea NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
	role text NOT NULL CHECK (role IN ('read', 'operator', 'admin')),
	domains text[] NOT NULL DEFAULT '{}',
	expires_at timestamptz,
	last_used_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL
);

CREATE TABLE idempotency_keys (
	actor text NOT NULL,
	key text NOT NULL CHECK (key ~ '^[ -~]{1,255}$'),
	request_hash bytea NOT NULL,
	status integer NOT NULL,
	response text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (actor, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

-- The application role: data, not schema; audit and changes append-only.
GRANT USAGE ON SCHEMA public TO mxfeed_app;
GRANT SELECT, INSERT, UPDATE, DELETE
	ON domains, mailboxes, recipients, sender_rules, relays, jobs,
	   api_tokens, idempotency_keys
	TO mxfeed_app;
GRANT SELECT, INSERT ON audit, changes TO mxfeed_app;
GRANT SELECT ON schema_migrations TO mxfeed_app;
