// webmail.mjs - a temporary mailbox read through Roundcube in Debian's
// chromium, driven by playwright-core (no browser download).
//
// BASE, ADDR, PW (the password temp-pop3 printed), MARK (in the
// subject and body of the one message in the mailbox), SHOTS and
// TAP_FIRST (tests already counted) come from
// tests/integration/test_webmail.sh.  Prints TAP; saves a screenshot of
// every step under SHOTS for a person to look at.
import { expect, launch, tap } from './tap.mjs';

const { BASE, ADDR, PW, MARK, SHOTS } = process.env;
const { step, done } = tap(Number(process.env.TAP_FIRST || 0));

const browser = await launch();
const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await ctx.newPage();
// Roundcube's php-fpm answers a logout in seconds on a loaded CI machine
// (two cores, several suites): 15 s was seen to run out once.
page.setDefaultTimeout(45000);
const shot = (name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
const user = page.locator('input[name=_user]');
const pass = page.locator('input[name=_pass]');

async function login(password) {
	await page.goto(`${BASE}/webmail/`);
	await user.fill(ADDR);
	await pass.fill(password);
	await page.locator('#rcmloginsubmit, button[type=submit]').first().click();
}

await step('the login page is mxfeed webmail', async () => {
	await page.goto(`${BASE}/webmail/`);
	const title = await page.title();
	expect(title.includes('mxfeed webmail'), 'title is ' + title);
	expect(await user.count() === 1 && await pass.count() === 1, 'no login form');
	await shot('01-login');
});

await step('a wrong password is refused', async () => {
	await login(PW + 'x');
	await page.locator('#messagestack').getByText(/login failed/i).waitFor();
	expect(await pass.count() === 1, 'the login form is gone');
	expect(await page.locator('#messagelist').count() === 0, 'a message list is shown');
	await shot('02-refused');
});

await step('the printed password logs in and the message is listed', async () => {
	await login(PW);
	await page.waitForURL(/_task=mail/);
	const row = page.locator('#messagelist tbody tr', { hasText: `Outage note ${MARK}` });
	await row.waitFor();
	expect(await row.count() === 1, `${await row.count()} rows with the subject`);
	await shot('03-list');
});

await step('opening it shows its body', async () => {
	await page.locator('#messagelist tbody tr', { hasText: MARK }).first().click();
	const body = page.frameLocator('#messagecontframe').locator('#messagebody');
	await body.getByText(`body of ${MARK}`).waitFor();
	const text = await body.innerText();
	expect(text.includes('second line'), 'body text: ' + text.slice(0, 200));
	await shot('04-message');
});

await step('composing is switched off (no sending from webmail)', async () => {
	for (const b of ['compose', 'reply', 'reply-all', 'forward'])
		expect(await page.locator(`a.${b}`).count() === 0, `a ${b} button is shown`);
	const r = await page.goto(`${BASE}/webmail/?_task=mail&_action=compose`);
	expect(await page.locator('#compose-content, #composebody').count() === 0,
		`the compose form is shown (HTTP ${r && r.status()})`);
	await shot('05-no-compose');
});

await step('logging out ends the session', async () => {
	await page.goto(`${BASE}/webmail/?_task=mail`);
	// Roundcube ignores a command while it is busy (app.js: the message
	// list still loading), so a click then does nothing: wait as a person
	// would, for the page to be ready
	await page.waitForFunction(() => window.rcmail && rcmail.loaded && !rcmail.busy);
	await page.locator('a.logout').first().click();
	await user.waitFor();
	await page.goto(`${BASE}/webmail/?_task=mail`);
	expect(await user.count() === 1, 'the mailbox is still open after logout');
	await shot('06-logged-out');
});

await browser.close();
done();
