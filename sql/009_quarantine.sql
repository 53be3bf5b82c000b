-- 009_quarantine.sql - the spam action "quarantine" (SPEC section 12)
--
-- A domain's spam level may now hold the message in quarantine: the
-- relay's Postfix keeps it in its hold queue for the site's
-- quarantine.days, staff list, release or delete it.

DO $$
DECLARE
	c record;
BEGIN
	FOR c IN SELECT conname FROM pg_constraint
		WHERE conrelid = 'domains'::regclass AND contype = 'c'
		  AND pg_get_constraintdef(oid) LIKE '%spam_low_action%'
	LOOP
		EXECUTE format('ALTER TABLE domains DROP CONSTRAINT %I', c.conname);
	END LOOP;
END $$;
ALTER TABLE domains ADD CONSTRAINT domains_spam_actions CHECK (
	spam_low_action IN ('none', 'header', 'subject', 'delete', 'quarantine')
	AND spam_med_action IN ('none', 'header', 'subject', 'delete', 'quarantine')
	AND spam_high_action IN ('none', 'header', 'subject', 'delete', 'quarantine'));
