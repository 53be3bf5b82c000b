-- 013_spam_tagged.sql - a tracking step for spam tagged and delivered
--
-- A domain whose spam action is header or subject has its spam
-- delivered, tagged; Postfix's own lines say only "delivered".  The
-- relay now logs the tag (milter_header_checks WARN on X-Mxfeed-Spam)
-- and mta-glue records it as a step of its own, verdict 'tagged', its
-- reply "level=L action=A score=S" (issue 17).

ALTER TABLE message_events DROP CONSTRAINT message_events_verdict_check;
ALTER TABLE message_events ADD CONSTRAINT message_events_verdict_check
	CHECK (verdict IN ('accepted', 'refused', 'greylisted', 'deferred',
		'virus', 'spam', 'deleted', 'delivered', 'bounced', 'expired',
		'quarantined', 'released', 'tagged'));
