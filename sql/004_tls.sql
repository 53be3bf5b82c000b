-- 004_tls.sql - TLS to the customer's server, per domain (SPEC section 12)
--
-- tls_policy: 'may' (TLS when the server offers it, the default for
-- every mode), 'encrypt' (never in clear: the mail waits in the queue)
-- or 'verify' (TLS, and the server's certificate has the SHA-256
-- fingerprint tls_fingerprint, 64 lower-case hex digits).  Like the
-- destination these belong to feed and backup domains: a pop3 domain
-- keeps the default (a switch to pop3 drops them with the destination).

ALTER TABLE domains
	ADD COLUMN tls_policy text NOT NULL DEFAULT 'may',
	ADD COLUMN tls_fingerprint text;
ALTER TABLE domains
	ADD CONSTRAINT domains_tls_policy
		CHECK (tls_policy IN ('may', 'encrypt', 'verify')),
	ADD CONSTRAINT domains_tls_fingerprint
		CHECK (tls_fingerprint ~ '^[0-9a-f]{64}$'),
	ADD CONSTRAINT domains_tls_verify
		CHECK (tls_policy <> 'verify' OR tls_fingerprint IS NOT NULL),
	ADD CONSTRAINT domains_tls_pop3
		CHECK (mode <> 'pop3'
		       OR (tls_policy = 'may' AND tls_fingerprint IS NULL));
