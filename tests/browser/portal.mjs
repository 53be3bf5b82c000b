// portal.mjs - the support portal in Debian's chromium, driven by
// playwright-core (no browser download: /usr/bin/chromium).
//
// BASE, STAFF_PW, FEEDCTL, MXFEED_CONF and SHOTS come from
// tests/integration/test_browser.sh.  Prints TAP; saves a screenshot
// of every step under SHOTS for a person to look at.
import { execFileSync } from 'node:child_process';
import { expect, launch, tap } from './tap.mjs';

const { BASE, STAFF_PW, FEEDCTL, SHOTS } = process.env;
const { step, done } = tap();

const browser = await launch();
const ctx = await browser.newContext({
	httpCredentials: { username: 'staff', password: STAFF_PW },
	viewport: { width: 1280, height: 900 },
	javaScriptEnabled: false, // the portal must work without it
});
const page = await ctx.newPage();
page.setDefaultTimeout(30000); // a loaded CI machine, not a target
const shot = (name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

await step('log in and see the domain list', async () => {
	await page.goto(`${BASE}/portal/`);
	expect((await page.title()).startsWith('Domains'), 'title is ' + await page.title());
	expect(await page.locator('table.list').getByText('example.com').count() > 0, 'example.com not listed');
	await shot('01-list');
});

await step('search narrows the list', async () => {
	await page.fill('input[name=q]', 'bücher');
	await page.click('form.search button');
	await page.waitForURL(/q=/);
	const rows = await page.locator('table.list tbody tr').count();
	expect(rows === 1, `${rows} rows`);
	expect(await page.getByText('xn--bcher-kva.example').count() === 1, 'the A-label is not shown');
	await shot('02-search');
});

await step('add a domain', async () => {
	await page.click('header nav >> text=Add a domain');
	await page.fill('#f-name', 'shop.example');
	await page.selectOption('#f-mode', 'feed');
	await page.fill('#f-dest', '127.0.0.1:2600');
	await page.fill('#f-ticket', 'T-500');
	await shot('03-add-form');
	await page.click('button:has-text("Add domain")');
	// nothing answers at 127.0.0.1:2600: the probe's verdict is shown
	// beside the field, and the box saves it anyway
	const perr = await page.locator('#e-dest').innerText();
	expect(perr.includes('did not pass the probe'), 'probe failure not shown: ' + perr);
	expect(await page.inputValue('#f-dest') === '127.0.0.1:2600', 'input not kept');
	await shot('03b-add-probe-failed');
	await page.check('#f-force');
	await page.click('button:has-text("Add domain")');
	await page.waitForURL(/\/portal\/d\/shop\.example\?added=1$/);
	expect(await page.locator('.flash.ok').innerText() === 'Domain added.', 'no confirmation');
	expect(await page.inputValue('#f-destination-host') === '127.0.0.1', 'destination not shown');
	await shot('04-added');
});

await step('edit it', async () => {
	await page.selectOption('#f-greylisting', 'off');
	await page.fill('#f-queue-days', '7');
	await page.selectOption('#f-spam-enabled', 'on');
	await page.click('button:has-text("Save changes")');
	await page.waitForURL(/saved=1$/);
	expect((await page.locator('.flash.ok').innerText()).includes('Saved: version 2'), 'no saved message');
	expect(await page.inputValue('#f-queue-days') === '7', 'queue.days not 7');
	expect(await page.locator('#f-greylisting').inputValue() === 'off', 'greylisting not off');
	await shot('05-saved');
});

await step('a bad value is shown next to its field, input kept', async () => {
	await page.fill('#f-queue-days', '99');
	await page.fill('#f-max_message_mb', '20');
	await page.click('button:has-text("Save changes")');
	const err = page.locator('#e-queue-days');
	expect((await err.innerText()).includes('queue.days must be'), 'error text: ' + await err.innerText());
	const field = page.locator('.field.invalid', { has: page.locator('#f-queue-days') });
	expect(await field.count() === 1, 'the field is not marked');
	expect(await page.inputValue('#f-queue-days') === '99', 'input not kept');
	expect(await page.inputValue('#f-max_message_mb') === '20', 'other input not kept');
	await shot('06-invalid');
});

await step('a concurrent change shows the stale-version message', async () => {
	await page.goto(`${BASE}/portal/d/shop.example`);
	execFileSync(FEEDCTL, ['--ticket', 'T-501', 'set', 'shop.example', 'max_message_mb=30']);
	await page.fill('#f-queue-days', '9');
	await page.click('button:has-text("Save changes")');
	const warn = page.locator('.flash.warn');
	const text = await warn.innerText();
	expect(text.includes('changed by root') && text.includes('review it against the current values and resubmit'),
		'message: ' + text);
	expect(await page.inputValue('#f-queue-days') === '9', 'input not kept');
	await shot('07-stale');
	// resubmitting after review goes through
	await page.click('button:has-text("Save changes")');
	await page.waitForURL(/saved=1$/);
});

await step('remove through the confirmation page', async () => {
	await page.click('a:has-text("Remove")');
	await page.waitForURL(/\/remove$/);
	expect((await page.locator('.confirm').innerText()).includes('550 5.1.2'), 'the page does not say what happens');
	await shot('08-remove-confirm');
	await page.click('button:has-text("Remove shop.example")');
	expect((await page.locator('.field.invalid .error').innerText()).includes('confirm'), 'no error without the name');
	await page.fill('#f-confirm', 'shop.example');
	await page.click('button:has-text("Remove shop.example")');
	await page.waitForURL(/removed=shop\.example$/);
	expect((await page.locator('.flash.ok').innerText()).includes('Removed shop.example'), 'no removal message');
	expect(await page.locator('table.list').getByText('shop.example').count() === 0, 'still listed');
	await shot('09-removed');
});

await step('temporary POP3 from the domain page shows the passwords once', async () => {
	await page.goto(`${BASE}/portal/d/example.com`);
	const form = page.locator('form.verb', { hasText: 'Temporary POP3' });
	expect(await form.count() === 1, 'no temp-pop3 form on the domain page');
	await shot('10-mail-stack');
	await form.locator('#f-temp-pop3-mailboxes').fill('info');
	await form.locator('#f-temp-pop3-catch_all').check();
	await form.locator('input[name=ticket]').fill('T-510');
	await form.locator('button:has-text("Create temporary mailboxes")').click();
	expect((await page.title()).startsWith('Temporary POP3'), 'title is ' + await page.title());
	const rows = page.locator('table.passwords tbody tr');
	expect(await rows.count() === 2, `${await rows.count()} password rows`);
	expect((await rows.first().innerText()).includes('info@example.com'), 'info@example.com not listed');
	const pw = (await page.locator('td.password').first().innerText()).trim();
	expect(pw.length >= 12, 'password too short: ' + pw.length);
	expect((await page.locator('.confirm').innerText()).includes('only time'), 'does not say it is shown once');
	expect(await page.locator('a[href="/webmail/"]').count() === 1, 'no webmail link');
	await shot('11-temp-pop3-passwords');
	await page.click('a:has-text("Back to example.com")');
	await page.waitForURL(/\/portal\/d\/example\.com$/);
	expect(await page.locator('.badge.temp').count() === 1, 'no temporary POP3 badge');
	expect(!(await page.content()).includes(pw), 'the password shows again on the domain page');
});

await step('revert through its confirmation page', async () => {
	const form = page.locator('form.verb', { hasText: 'Revert to the feed' });
	expect(await form.count() === 1, 'no revert form');
	await form.locator('button:has-text("Review the revert")').click();
	const confirm = await page.locator('.confirm').innerText();
	expect(confirm.includes('info@example.com and catch-all@example.com (the catch-all) is re-injected to 127.0.0.1:2526'),
		'the page does not name the mailboxes: ' + confirm.slice(0, 400));
	expect(confirm.includes('Nothing has changed yet'), 'does not say nothing changed yet');
	await shot('12-revert-confirm');
	await page.click('button:has-text("Revert example.com")');
	await page.waitForURL(/done=revert/);
	expect((await page.locator('.flash.ok').innerText()).includes('Reverted to the feed'), 'no revert message');
	expect(await page.locator('.badge.temp').count() === 0, 'still in temporary POP3');
	expect(await page.locator('table.jobs').getByText('mailbox-forward').count() === 2, 'the forward jobs are not listed');
	await shot('13-reverted');
});

await step('switch to feed: purge confirmation, probe failure beside the field, force', async () => {
	execFileSync(FEEDCTL, ['mailbox', 'add', 'xn--bcher-kva.example', 'info']);
	await page.goto(`${BASE}/portal/d/xn--bcher-kva.example`);
	const form = page.locator('form.verb', { hasText: 'Switch to feed' });
	await form.locator('#f-switch-feed-dest').fill('127.0.0.1:2526');
	await form.locator('#f-switch-feed-fate').selectOption('purge');
	await form.locator('button:has-text("Review the switch")').click();
	const confirm = await page.locator('.confirm').innerText();
	expect(confirm.includes('info@xn--bcher-kva.example') && confirm.includes('purged: deleted with all their mail, without a copy'),
		'the page does not say what is purged: ' + confirm.slice(0, 400));
	await shot('14-purge-confirm');
	await page.click('button:has-text("Switch xn--bcher-kva.example to feed")');
	expect((await page.locator('#e-confirm').innerText()).includes('type the domain'), 'no error without the name');
	await page.fill('#f-confirm', 'xn--bcher-kva.example');
	await page.click('button:has-text("Switch xn--bcher-kva.example to feed")');
	// nobody listens on 127.0.0.1:2526: the probe fails, the form comes back
	const err = await page.locator('#e-switch-feed-dest').innerText();
	expect(err.includes('did not pass the probe'), 'probe error: ' + err);
	expect(await page.inputValue('#f-switch-feed-dest') === '127.0.0.1:2526', 'input not kept');
	expect(await page.locator('#f-switch-feed-fate').inputValue() === 'purge', 'fate not kept');
	await shot('15-probe-failed');
	await page.locator('#f-switch-feed-force').check();
	await page.click('button:has-text("Review the switch")');
	await page.fill('#f-confirm', 'bücher.example');
	await page.click('button:has-text("Switch xn--bcher-kva.example to feed")');
	await page.waitForURL(/done=switch-feed/);
	expect((await page.locator('.flash.warn').innerText()).includes('switched anyway (force)'), 'no forced-switch message');
	expect(await page.locator('.badge.feed').count() === 1, 'not a feed now');
	await shot('16-switched');
});

await step('switch to backup through its confirmation page; the record reads mode=backup', async () => {
	execFileSync(FEEDCTL, ['add', 'standby.example', '--mode', 'feed', '--force', '--dest', '127.0.0.1:2526']);
	await page.goto(`${BASE}/portal/d/standby.example`);
	const form = page.locator('form.verb', { hasText: 'Switch to backup' });
	// no destination: the current one stays
	await form.locator('button:has-text("Review the switch")').click();
	const confirm = await page.locator('.confirm').innerText();
	expect(confirm.includes('we are a backup MX for standby.example') &&
		confirm.includes('The destination stays 127.0.0.1:2526'),
		'the page does not say what a backup MX does: ' + confirm.slice(0, 400));
	await shot('17-backup-confirm');
	await page.click('button:has-text("Switch standby.example to backup")');
	await page.waitForURL(/done=switch-backup/);
	expect((await page.locator('.flash.ok').innerText()).includes('Switched to backup.'), 'no switched message');
	expect(await page.locator('.badge.backup').count() === 1, 'not a backup domain now');
	const rec = JSON.parse(execFileSync(FEEDCTL, ['show', 'standby.example', '--json']).toString());
	expect(rec.mode === 'backup' && rec.destination.port === 2526, 'the record: ' + JSON.stringify(rec).slice(0, 200));
	await shot('18-backup');
});

await step('the relays page from the navigation', async () => {
	await page.click('header nav a:has-text("Relays")');
	await page.waitForURL(/\/portal\/relays$/);
	expect(await page.locator('h1').innerText() === 'Relays', 'not the relays page');
	expect((await page.locator('p.empty').innerText()).includes('No relays registered'), 'no empty-list text');
	await shot('19-relays');
});

await browser.close();
done();
