// Drives the root's web console in headless chromium for
// tests/integration/test_console.py: one JSON command a line on stdin, one
// JSON answer a line on stdout ({ok: true, ...} or {ok: false, error}).
// Every wait is bounded by the command's timeout (ms).  The page's
// console errors, uncaught exceptions and Content-Security-Policy
// violations are kept and handed back by {op: "errors"}.
//
// playwright-core comes from package-lock.json, installed with npm ci into
// the build directory (BUILD/console-node, as test_console.py and
// tests/run.sh do), and is found through NODE_PATH:
//   NODE_PATH=build/console-node/node_modules node tests/console/drive.js
// CHROMIUM names the browser (default /usr/bin/chromium).
"use strict";

const readline = require("readline");
const { chromium } = require("playwright-core");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
let browser = null, page = null;
const errors = [];

async function open(c) {
	browser = await chromium.launch({ executablePath: CHROMIUM,
		headless: true, args: ["--no-sandbox", "--disable-gpu",
			"--disable-dev-shm-usage"] });
	const ctx = await browser.newContext({ viewport: { width: 1280,
		height: 900 } });
	page = await ctx.newPage();
	page.on("console", (m) => {
		if (m.type() === "error")
			errors.push("console: " + m.text());
	});
	page.on("pageerror", (e) => errors.push("exception: " + e.message));
	const res = await page.goto(c.url, { timeout: c.timeout });
	return { status: res.status(), headers: await res.allHeaders() };
}

/* Wait until page p is drawn afresh after fn runs. */
async function fresh(p, timeout, fn) {
	await page.evaluate(() => { delete document.body.dataset.loaded; });
	await fn();
	await page.waitForFunction((want) => document.body.dataset.loaded ===
		want, p, { timeout });
}

const ops = {
	open,
	async login(c) {
		await page.fill("#token", c.token);
		await fresh(c.page || "overview", c.timeout, () =>
			page.click("#login button[type=submit]"));
		return { who: await page.textContent("#who") };
	},
	async goto(c) {
		await fresh(c.page, c.timeout, () => page.evaluate((h) => {
			location.hash = h;
		}, c.hash));
		return {};
	},
	// The next redraw of the page shown now (pages refresh themselves).
	async redraw(c) {
		const p = await page.evaluate(() => document.body.dataset.loaded);
		await fresh(p, c.timeout, async () => {});
		return {};
	},
	// Every element matching selector: its data-* attributes and text.
	async rows(c) {
		return { rows: await page.$$eval(c.selector, (els) => els.map((e) =>
			Object.assign({ text: e.textContent.trim() }, e.dataset))) };
	},
	async text(c) {
		return { text: await page.textContent(c.selector,
			{ timeout: c.timeout }) };
	},
	async visible(c) {
		return { visible: await page.isVisible(c.selector) };
	},
	async click(c) {
		await page.click(c.selector, { timeout: c.timeout });
		return {};
	},
	async wait(c) {
		await page.waitForSelector(c.selector, { timeout: c.timeout,
			state: c.state || "visible" });
		return {};
	},
	async fill(c) {
		await page.fill(c.selector, c.value, { timeout: c.timeout });
		return {};
	},
	async submit(c) {
		await fresh(c.page, c.timeout, () => page.press(c.selector,
			"Enter"));
		return {};
	},
	async storage() {
		return { session: await page.evaluate(() =>
			JSON.stringify(sessionStorage)), local: await page.evaluate(() =>
			JSON.stringify(localStorage)) };
	},
	async shot(c) {
		await page.screenshot({ path: c.path, fullPage: true });
		return {};
	},
	async errors() {
		return { errors: errors.splice(0) };
	},
	// A request from the page's origin that the page's CSP must stop.
	async inject() {
		return { ran: await page.evaluate(() => new Promise((done) => {
			window.__injected = false;
			const s = document.createElement("script");
			s.textContent = "window.__injected = true";
			document.body.append(s);
			setTimeout(() => done(window.__injected), 200);
		})) };
	},
	async close() {
		if (browser)
			await browser.close();
		browser = null;
		return {};
	},
};

const rl = readline.createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on("line", (line) => {
	chain = chain.then(async () => {
		let out;
		try {
			const c = JSON.parse(line);
			c.timeout = c.timeout || 10000;
			out = Object.assign({ ok: true }, await ops[c.op](c));
		} catch (e) {
			out = { ok: false, error: String(e && e.message || e) };
		}
		process.stdout.write(JSON.stringify(out) + "\n");
	});
});
rl.on("close", () => {
	chain.then(async () => {
		if (browser)
			await browser.close();
		process.exit(0);
	});
});
