-- 010_staff.sql - staff roles for the portal (SPEC section 8)
--
-- nginx authenticates a portal login; this table says what it may do.
-- A login without a row is refused (403).  role is the API tokens'
-- role; domains, when not empty, is the login's domain group: the
-- exact A-labels it may see, as a scoped token's.  Bootstrap: the
-- first admin is added on the server with "feedctl staff add LOGIN
-- --role admin" (feedctl speaks to the database directly).

CREATE TABLE staff_users (
	login text PRIMARY KEY CHECK (login ~ '^[!-~]([ -~]{0,62}[!-~])?$'),
	role text NOT NULL CHECK (role IN ('read', 'operator', 'admin')),
	domains text[] NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by text NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE ON staff_users TO mxfeed_app;
