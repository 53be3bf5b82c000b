-- 014_relay_drain.sql - draining a relay before it is retired
--
-- "feedctl relay drain NAME" makes a relay stop taking new mail (its
-- public smtpd answers 421 4.3.2, so senders try another MX) while it
-- delivers what it holds; with a hand-over relay it hands its queue to
-- that relay over SMTP, at once or once drain_max_age has passed since
-- the drain began.  A draining relay still applies every change (the
-- mail it holds follows the domains' settings), but no job, removal or
-- propagation count waits for it: only role 'relay' counts as active.
-- Its queue keeps being published, so "feedctl relays" shows what is
-- left; when that is nothing it is drained and can be retired.

ALTER TABLE relays DROP CONSTRAINT relays_role_check;
ALTER TABLE relays ADD CONSTRAINT relays_role_check
	CHECK (role IN ('relay', 'mailbox', 'draining', 'retired'));

ALTER TABLE relays ADD COLUMN drain_started_at timestamptz;
ALTER TABLE relays ADD COLUMN drain_by text
	CHECK (drain_by ~ '^[ -~]{1,128}$');
ALTER TABLE relays ADD COLUMN drain_hand_over text
	REFERENCES relays (name) ON DELETE SET NULL;
ALTER TABLE relays ADD COLUMN drain_max_age interval
	CHECK (drain_max_age > interval '0' AND drain_max_age <= interval '31 days');
-- a draining relay says when and by whom; a retired one keeps it (its
-- record); the age only with a relay to hand over to, never itself
ALTER TABLE relays ADD CONSTRAINT relays_drain_check
	CHECK ((role <> 'draining' OR (drain_started_at IS NOT NULL
	        AND drain_by IS NOT NULL))
	       AND (drain_started_at IS NULL OR role IN ('draining', 'retired'))
	       AND (drain_max_age IS NULL OR drain_hand_over IS NOT NULL)
	       AND drain_hand_over IS DISTINCT FROM name);

-- Where another relay hands its queue to this one: "[ADDRESS]:PORT" of
-- its public smtpd, as its mta-glue sync reports it (relay.listen with
-- an address, else relay.outbound's first address and relay.listen's
-- port); NULL until it reports one.
ALTER TABLE relays ADD COLUMN smtp_address text
	CHECK (smtp_address ~ '^\[[0-9A-Fa-f.:]{2,45}\]:[0-9]{1,5}$');
