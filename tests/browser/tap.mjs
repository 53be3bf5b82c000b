// tap.mjs - what the browser tests share: TAP steps, a plain assertion
// and Debian's chromium through playwright-core (no browser download).
import { chromium } from 'playwright-core';

// Steps numbered after `first` (tests the calling script already
// counted); done() prints the plan of this part and exits 1 on a failure.
export function tap(first = 0) {
	let n = first;
	let failed = 0;
	return {
		async step(name, fn) {
			n++;
			try {
				await fn();
				console.log(`ok ${n} - ${name}`);
			} catch (e) {
				failed++;
				console.log(`not ok ${n} - ${name}`);
				for (const line of String(e && e.message ? e.message : e).split('\n').slice(0, 8))
					console.log(`#   ${line}`);
			}
		},
		done() {
			console.log(`1..${n - first}`);
			process.exit(failed ? 1 : 0);
		},
	};
}

export function expect(cond, what) {
	if (!cond) throw new Error(what);
}

export function launch() {
	return chromium.launch({
		executablePath: '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu'],
	});
}
