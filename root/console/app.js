/*
 * Arbor's web console: one page, drawn from the root's JSON API
 * (/api/v1/...) with the token the operator typed once, kept in this tab's
 * sessionStorage.  No framework, nothing loaded from elsewhere: the root
 * serves this file, style.css and index.html, under a Content-Security-
 * Policy that allows nothing else.  Every value from the API is put into
 * the page as text (textContent), never as markup.
 */
"use strict";

const TOKEN_KEY = "arbor.token";
const STATES = ["unknown", "not-applicable", "applicable", "downloading",
	"waiting", "running", "fixed", "failed", "reboot-pending",
	"rolled-back", "error", "download-failed", "locked"];
/* A state an endpoint stays in until something new happens. */
const FINAL = new Set(["not-applicable", "fixed", "failed", "rolled-back",
	"error", "download-failed", "locked"]);
const FAILED = ["failed", "download-failed", "error"];
const PER_PAGE = 100;

let timer = null;	/* the current page's refresh */
let role = null;	/* "operator", "viewer", or null: not known yet */
let drawing = 0;	/* which route() call may draw: the latest */

function $(id) { return document.getElementById(id); }

/* An element with attributes and children (strings become text). */
function el(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k === "class")
			e.className = v;
		else if (k.startsWith("on"))
			e.addEventListener(k.slice(2), v);
		else
			e.setAttribute(k, v === true ? "" : String(v));
	}
	for (const k of kids.flat()) {
		if (k === null || k === undefined || k === false)
			continue;
		e.append(k instanceof Node ? k : document.createTextNode(String(k)));
	}
	return e;
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

class ApiError extends Error {
	constructor(status, msg) { super(msg); this.status = status; }
}

/* GET (or POST) path on the API: the response and its text. */
async function request(path, method) {
	const r = await fetch(path, {
		method: method || "GET",
		headers: { "Authorization": "Bearer " + token(),
			"Accept": "application/json" },
		cache: "no-store",
		credentials: "omit",
	});
	return [r, await r.text()];
}

/* GET (or POST) path on the API; the decoded JSON, or an ApiError. */
async function api(path, method) {
	const [r, text] = await request(path, method);
	let body = null;
	try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
	if (!r.ok) {
		const msg = body && (body.error || body.message) ?
			(body.error || body.message) : text.trim().startsWith("<") ?
			r.statusText : text.trim().slice(0, 300) || r.statusText;
		if (r.status === 401)
			signOut("the token was refused: " + msg);
		throw new ApiError(r.status, path + ": " + r.status + " " + msg);
	}
	return body;
}

/* Milliseconds since the epoch, whether the API says seconds or ms. */
function ms(t) { return t > 1e11 ? t : t * 1000; }

function ago(t) {
	if (!t)
		return "never";
	const s = Math.max(0, Math.round((Date.now() - ms(t)) / 1000));
	if (s < 120) return s + "s ago";
	if (s < 7200) return Math.round(s / 60) + "m ago";
	if (s < 172800) return Math.round(s / 3600) + "h ago";
	return Math.round(s / 86400) + "d ago";
}

function when(t) { return t ? new Date(ms(t)).toISOString() : "never"; }

function stateTag(s, exit) {
	return el("span", { class: "state st-" + s, "data-state": s },
		s + (FAILED.includes(s) && exit ? " (exit " + exit + ")" : ""));
}

/* A bar of counts ({state: n}), widths in proportion. */
function bar(counts, order) {
	const total = order.reduce((a, k) => a + (counts[k] || 0), 0);
	const b = el("div", { class: "bar", title: order.filter((k) =>
		counts[k]).map((k) => k + " " + counts[k]).join(", ") });
	for (const k of order) {
		if (!counts[k] || !total)
			continue;
		const s = el("span", { class: "st-" + k });
		s.style.width = (100 * counts[k] / total) + "%";	/* CSSOM */
		b.append(s);
	}
	return b;
}

function endpointLink(id, text) {
	return el("a", { href: "#/endpoint/" + encodeURIComponent(id),
		"data-endpoint": id }, text || id.slice(0, 12));
}

/* The rows of a list reply: an array, or one under a known key. */
function rows(doc) {
	if (Array.isArray(doc))
		return doc;
	for (const k of ["endpoints", "items", "rows", "rollouts"])
		if (doc && Array.isArray(doc[k]))
			return doc[k];
	return [];
}

function table(cols, list, rowFn) {
	return el("table", {},
		el("thead", {}, el("tr", {}, cols.map((c) => el("th",
			{ class: c.endsWith("#") ? "num" : null },
			c.replace(/#$/, ""))))),
		el("tbody", {}, list.map(rowFn)));
}

function num(v, attrs) {
	return el("td", Object.assign({ class: "num" }, attrs || {}), v);
}

/* ---- pages ---- */

/* The root's bytes served at the last overview: for a rate. */
let served = null;

function bytes(n) {
	const u = ["B", "KiB", "MiB", "GiB", "TiB"];
	let i = 0;
	for (; n >= 1024 && i < u.length - 1; i++)
		n /= 1024;
	return (i ? n.toFixed(1) : String(n)) + " " + u[i];
}

async function overview(page) {
	const st = await api("/api/v1/status");
	const now = Date.now();
	let spreading = false, rate = "";
	if (served && now > served.at && st.bytes_served >= served.n)
		rate = bytes(Math.round((st.bytes_served - served.n) * 1000 /
			(now - served.at))) + "/s";
	served = { at: now, n: st.bytes_served };
	const cards = el("div", { class: "cards" },
		[["endpoints", "endpoints enrolled"], ["head_seq", "head seq"],
		 ["accepted", "reports accepted"], ["rejected", "reports refused"],
		 ["batches", "messages from children"]].map(([k, label]) =>
			el("div", { class: "card" },
				el("div", { class: "n", "data-status": k }, st[k] ?? 0),
				el("div", { class: "k" }, label))),
		el("div", { class: "card" },
			el("div", { class: "n", "data-status": "last_report" },
				ago(st.last_report_at_ms)),
			el("div", { class: "k" }, "last report")),
		el("div", { class: "card" },
			el("div", { class: "n", "data-status": "bytes_served",
				"data-value": st.bytes_served }, bytes(st.bytes_served)),
			el("div", { class: "k" }, "served by the root" +
				(rate ? ", " + rate + " now" : ""))));
	const pols = (st.policies || []).filter((p) => !p.retired);
	const shown = STATES.filter((s) => pols.some((p) => p.counts[s]));
	for (const p of pols)
		for (const s of STATES)
			if (p.counts[s] && !FINAL.has(s))
				spreading = true;
	page.append(el("h1", {}, "Overview"), cards,
		el("h2", {}, "Endpoints by state, per policy"),
		pols.length === 0 ? el("p", { class: "muted" },
			"No policy has reports yet.") :
		table(["policy", "version#", ...shown.map((s) => s + "#"),
			"progress"], pols, (p) => el("tr", { "data-policy": p.id },
			el("td", {}, p.id), num(p.version),
			shown.map((s) => num(p.counts[s] || 0, {
				"data-count": s })),
			el("td", {}, bar(p.counts, STATES)))),
		el("p", { class: "legend muted" }, "final: fixed, not-applicable, " +
			"failed; in flight: applicable, downloading, waiting, running"));
	return spreading ? 1000 : 5000;
}

async function tree(page) {
	const t = await api("/api/v1/tree");
	const relays = t.relays || [];
	const kids = new Map();
	for (const r of relays) {
		const p = r.parent_id || "root";
		if (!kids.has(p))
			kids.set(p, []);
		kids.get(p).push(r);
	}
	const seen = new Set();
	function branch(id) {
		const list = (kids.get(id) || []).filter((r) => !seen.has(r.node_id));
		if (!list.length)
			return null;
		return el("ul", {}, list.map((r) => {
			seen.add(r.node_id);
			const old = Date.now() - ms(r.last_contact) > 600000;
			return el("li", { "data-relay": r.node_id },
				el("span", { class: "node" + (r.lag > 0 ? " lagging" :
					"") + (old ? " stale" : "") },
					el("b", {}, r.node_id),
					el("span", { class: "meta" },
						r.children + " children \u00b7 head " +
						r.head_seq + " \u00b7 ",
						el("span", { "data-lag": r.lag }, r.lag > 0 ?
							r.lag + " heads behind" : "up to date"),
						" \u00b7 last contact " + ago(r.last_contact) +
						" \u00b7 served " + bytes(r.served_bytes || 0) +
						" (" + bytes(r.served_bytes_per_s || 0) + "/s)" +
						" \u00b7 via " + (r.parent || "?"))),
				branch(r.node_id));
		}));
	}
	const top = el("div", { class: "tree" }, el("ul", {}, el("li",
		{ "data-relay": "root" }, el("span", { class: "node" },
			el("b", {}, "root"), el("span", { class: "meta" },
				"head seq " + t.head_seq)), branch("root"))));
	const lost = relays.filter((r) => !seen.has(r.node_id));
	page.append(el("h1", {}, "Relays"), top,
		lost.length ? el("p", { class: "muted" }, "Whose parent is not " +
			"heard from: " + lost.map((r) => r.node_id).join(", ")) : "",
		el("h2", {}, "All relays"),
		table(["relay", "parent", "children#", "head seq#", "lag#",
			"last contact", "served#", "now#", "parent address"], relays,
			(r) => el("tr",
			{ "data-row": r.node_id, "data-parent": r.parent_id,
				"data-children": r.children, "data-lag": r.lag,
				"data-served": r.served_bytes },
			el("td", {}, r.node_id), el("td", {}, r.parent_id),
			num(r.children), num(r.head_seq), num(r.lag),
			el("td", { title: when(r.last_contact) }, ago(r.last_contact)),
			el("td", { class: "num" }, bytes(r.served_bytes || 0)),
			el("td", { class: "num" }, bytes(r.served_bytes_per_s || 0) +
				"/s"),
			el("td", { class: "mono" }, r.parent))));
	return 2000;
}

/* The operator's buttons for policy id; only for an operator's token. */
function ops(id, staged) {
	if (role !== "operator")
		return null;
	const b = (label, path, warn) => el("button", { type: "button",
		class: warn ? "danger" : null, "data-op": label,
		onclick: async (ev) => {
			if (warn && !confirm(label + " " + id + "?"))
				return;
			ev.target.disabled = true;
			try {
				await api(path, "POST");
				note(label + " " + id + ": done");
			} catch (e) {
				note(e.message, true);
			}
			route();
		} }, label);
	const p = "/api/v1/policies/" + encodeURIComponent(id) + "/";
	const r = "/api/v1/rollouts/" + encodeURIComponent(id) + "/";
	return el("div", { class: "ops" }, b("push", p + "push"),
		staged ? [b("pause", r + "pause"), b("resume", r + "resume"),
			b("advance", r + "advance"), b("retry-failed", r +
			"retry-failed")] : null,
		b("rollback", p + "rollback", true), b("retire", p + "retire", true));
}

async function policies(page) {
	const [cat, st, ro] = await Promise.all([api("/api/v1/policies"),
		api("/api/v1/status"), api("/api/v1/rollouts")]);
	const counts = new Map((st.policies || []).map((p) => [p.id, p]));
	const rolls = new Map(rows(ro).map((r) => [r.policy, r]));
	page.append(el("h1", {}, "Policies"),
		el("p", { class: "muted" }, cat.head ? "head seq " + cat.head.seq +
			", signed " + when(cat.head.issued_at) + ", expires " +
			when(cat.head.expires_at) : "no head yet"));
	const list = rows(cat.policies ? cat.policies : cat);
	if (!list.length)
		page.append(el("p", { class: "muted" }, "No policy published."));
	for (const p of list) {
		const c = counts.get(p.id), w = rolls.get(p.id);
		const sec = el("section", { "data-policy": p.id },
			el("h2", {}, p.id + " v" + p.version + " \u2014 " + p.title),
			el("dl", { class: "kv" },
				el("dt", {}, "severity"), el("dd", {}, p.severity),
				el("dt", {}, "published"), el("dd", {}, when(p.published_at)),
				el("dt", {}, "urgent"), el("dd", {}, p.urgent ? "yes (pushed)" :
					"no"),
				el("dt", {}, "blobs"), el("dd", {}, (p.blobs || []).map((b) =>
					b.name + " (" + b.size + " B)").join(", ") || "none"),
				el("dt", {}, "endpoints"), el("dd", {}, c ? [bar(c.counts,
					STATES), " ", STATES.filter((s) => c.counts[s]).map((s) =>
					s + " " + c.counts[s]).join(", ")] : "no reports yet")));
		if (w)
			sec.append(waves(w));
		sec.append(ops(p.id, !!w) || "");
		page.append(sec);
	}
	return 1000;
}

/* A staged rollout: the wave it is in, of how many, and its counts. */
function waves(w) {
	const steps = el("div", { class: "ops" });
	for (let i = 1; i <= w.waves; i++)
		steps.append(el("span", { class: "state " + (i < w.wave ?
			"st-ok" : i === w.wave ? "st-in" : "st-pending") },
			"wave " + i + (i === w.wave && w.name !== "-" ? " " + w.name +
				" (" + w.share + " %)" : "")));
	return el("div", { class: "rollout", "data-rollout": w.policy,
		"data-rollout-state": w.state, "data-wave": w.wave,
		"data-waves": w.waves },
		el("p", {}, "Rollout: ", el("b", {}, w.state), " \u2014 wave " +
			w.wave + " of " + w.waves + (w.why && w.why !== "-" ? ": " +
				w.why : "")),
		steps,
		el("p", {}, bar({ ok: w.ok, failed: w.failed, silent: w.silent,
			pending: w.pending }, ["ok", "failed", "silent", "pending"]),
			" in the wave " + w.in + ": " + w.ok + " fixed, " + w.failed +
			" failed, " + w.silent + " silent, " + w.pending + " pending"));
}

function endpointRows(list, withPolicy) {
	return table(["endpoint", "host", withPolicy ? "policy" : null, "state",
		"exit#", "last contact", "via", "output / detail"].filter(Boolean),
		list, (e) => el("tr", { "data-row": e.endpoint_id + "/" +
			e.policy_id, "data-state": e.state,
			"data-exit": e.exit_code },
			el("td", { class: "id" }, endpointLink(e.endpoint_id)),
			el("td", {}, e.hostname),
			withPolicy ? el("td", {}, e.policy_id) : null,
			el("td", {}, stateTag(e.state, e.exit_code)),
			num(e.exit_code),
			el("td", { title: when(e.last_contact) }, ago(e.last_contact)),
			el("td", {}, (e.via || []).join(" < ")),
			el("td", {}, el("pre", { class: "tail" }, e.detail || ""))));
}

async function failures(page) {
	const lists = await Promise.all(FAILED.map((s) =>
		api("/api/v1/endpoints?state=" + s + "&per_page=" + PER_PAGE)));
	const list = lists.flatMap(rows);
	const more = lists.some((l) => rows(l).length === PER_PAGE);
	page.append(el("h1", {}, "Failures"),
		el("p", { class: "muted" }, list.length + " endpoint" +
			(list.length === 1 ? "" : "s") + " failed a policy (" +
			FAILED.join(", ") + "), with the exit code and the tail of " +
			"the action's output."),
		more ? el("p", {}, "The first " + PER_PAGE + " of each state; ",
			el("a", { href: "#/search?policy=&state=failed" }, "all failed"),
			" page by page.") : "",
		list.length ? endpointRows(list, true) : "");
	return 5000;
}

async function endpoint(page, id) {
	/* arborctl endpoint show ID --json: rows, history, inventory. */
	const e = await api("/api/v1/endpoints/" + encodeURIComponent(id));
	const list = e.policies || [];
	const inv = e.inventory || {};
	const via = e.via || [];
	const hist = e.history || [];
	page.append(el("h1", {}, "Endpoint " + (e.hostname || id)),
		el("dl", { class: "kv", "data-endpoint-id": e.endpoint_id },
			el("dt", {}, "id"), el("dd", { class: "mono" }, e.endpoint_id),
			el("dt", {}, "host name"), el("dd", {}, e.hostname),
			el("dt", {}, "last contact"), el("dd", {}, ago(e.last_contact) +
				" (" + when(e.last_contact) + ")"),
			el("dt", {}, "relay"), el("dd", { class: "mono" }, e.relay),
			el("dt", {}, "via"), el("dd", {}, via.join(" < ")),
			el("dt", {}, "os"), el("dd", {}, inv.os || "no inventory yet"),
			el("dt", {}, "groups"), el("dd", {}, (inv.groups || []).join(
				", ")),
			e.locked ? [el("dt", {}, "locked"), el("dd", {}, "yes")] : "",
			e.revoked ? [el("dt", {}, "revoked"),
				el("dd", {}, e.revoked_reason || "yes")] : ""),
		el("h2", {}, "Policies"),
		list.length ? endpointRows(list, true) : el("p",
			{ class: "muted" }, "No policy has reached it yet."),
		el("h2", {}, "History"),
		hist.length ? table(["when", "policy", "version", "state", "exit#"],
			hist.slice().reverse(), (h) => el("tr", { "data-history":
				h.policy_id + "/" + h.at, "data-state": h.state,
				"data-exit": h.exit_code },
				el("td", { title: when(h.at) }, ago(h.at)),
				el("td", {}, h.policy_id), num(h.version),
				el("td", {}, stateTag(h.state, h.exit_code)),
				num(h.exit_code))) : el("p", { class: "muted" },
			"No state change taken yet."),
		el("h2", {}, "Inventory"),
		inv.kernel !== undefined ? el("dl", { class: "kv",
			"data-inventory": e.endpoint_id },
			el("dt", {}, "kernel"), el("dd", { class: "mono" }, inv.kernel),
			el("dt", {}, "cpu"), el("dd", {}, inv.cpus + " \u00d7 " +
				(inv.cpu_model || "?")),
			el("dt", {}, "memory"), el("dd", {}, mib(inv.mem_bytes)),
			el("dt", {}, "packages"), el("dd", {}, String(inv.packages)),
			el("dt", {}, "booted"), el("dd", {}, when(inv.boot_time) +
				" (up " + Math.round(inv.uptime_s / 3600) + " h)"),
			el("dt", {}, "addresses"), el("dd", { class: "mono" },
				(inv.addresses || []).join(", ")),
			(inv.mounts || []).flatMap((m) => [el("dt", {}, "disk " + m.path),
				el("dd", {}, mib(m.avail) + " free of " + mib(m.size) +
					" (" + m.fstype + ")")])) : el("p", { class: "muted" },
			"No full inventory yet."));
	return 5000;
}

/* Bytes in MiB, as the endpoint page shows memory and disks. */
function mib(n) {
	return (n / 1048576).toFixed(0) + " MiB";
}

async function search(page, params) {
	const expr = params.get("expr") || "";
	const state = params.get("state") || "";
	const policy = params.get("policy") || "";
	const f = el("form", { class: "search" },
		el("input", { name: "expr", value: expr, placeholder:
			'os.id == "debian" && pkg("openssl") < version("3.0.22")' }),
		el("button", { type: "submit" }, "Query inventories"));
	f.addEventListener("submit", (ev) => {
		ev.preventDefault();
		location.hash = "#/search?expr=" + encodeURIComponent(f.expr.value);
	});
	const g = el("form", { class: "search" },
		el("input", { name: "policy", value: policy, placeholder: "policy id" }),
		el("select", { name: "state" }, el("option", { value: "" }, "any state"),
			STATES.map((s) => el("option", { value: s, selected: s === state },
				s))),
		el("button", { type: "submit" }, "List endpoints"));
	g.addEventListener("submit", (ev) => {
		ev.preventDefault();
		location.hash = "#/search?policy=" + encodeURIComponent(
			g.policy.value) + "&state=" + encodeURIComponent(g.state.value);
	});
	page.append(el("h1", {}, "Search"), f, g);
	if (expr) {
		const q = await api("/api/v1/query?expr=" + encodeURIComponent(expr));
		page.append(el("p", { "data-matched": q.matched }, q.matched + " of " +
			q.endpoints + " endpoints match" + (q.unknown ? "; " + q.unknown +
				" unknown at the root" : "") + (q.errors ? "; " + q.errors +
				" cannot be evaluated (" + q.first_error + ")" : "")),
			table(["endpoint", "host", "relay", "os", "groups",
				"last contact"], q.matches || [], (m) => el("tr",
				{ "data-row": m.endpoint }, el("td", { class: "id" },
					endpointLink(m.endpoint)), el("td", {}, m.hostname),
				el("td", {}, m.relay), el("td", {}, m.os),
				el("td", {}, (m.groups || []).join(", ")),
				el("td", {}, ago(m.last_contact)))));
	} else if (policy || state || params.has("state")) {
		const n = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
		let qs = "per_page=" + PER_PAGE + "&page=" + n;
		if (policy) qs += "&policy=" + encodeURIComponent(policy);
		if (state) qs += "&state=" + encodeURIComponent(state);
		const list = rows(await api("/api/v1/endpoints?" + qs));
		/* The API's pages: PER_PAGE rows each; a page past the last is []. */
		const to = (k) => "#/search?policy=" + encodeURIComponent(policy) +
			"&state=" + encodeURIComponent(state) + "&page=" + k;
		page.append(el("p", {}, "rows " + ((n - 1) * PER_PAGE +
			(list.length ? 1 : 0)) + "\u2013" + ((n - 1) * PER_PAGE +
			list.length), n > 1 ? [" \u00b7 ", el("a", { href: to(n - 1) },
			"previous page")] : "", list.length === PER_PAGE ?
			[" \u00b7 ", el("a", { href: to(n + 1), "data-next": n + 1 },
				"next page")] : ""),
			endpointRows(list, true));
	}
	return 0;
}

/* ---- frame ---- */

function note(msg, bad) {
	const e = $("error");
	e.textContent = msg || "";
	e.className = bad ? "error" : "muted";
}

/*
 * What the token may do.  The API judges the token before it looks at
 * the path, so asking it to pause a rollout whose id cannot be one tells
 * the roles apart without changing anything or leaving an audit record:
 * an operator's token gets 404, a viewer's 403.  401 is a token refused,
 * or a root on loopback that has no token yet, which lets anyone read
 * (a viewer) and nobody act.
 */
async function whoami() {
	const [r] = await request("/api/v1/rollouts/%20/pause", "POST");
	if (r.status === 403)
		return "viewer";
	if (r.status !== 401)
		return "operator";
	try {
		await api("/api/v1/status");
		return "viewer";
	} catch (e) {
		return null;
	}
}

function signOut(why) {
	sessionStorage.removeItem(TOKEN_KEY);
	role = null;
	showLogin(why);
}

function showLogin(why) {
	clearTimeout(timer);
	$("page").replaceChildren();
	$("nav").hidden = true;
	$("logout").hidden = true;
	$("who").textContent = "";
	$("login").hidden = false;
	$("login-error").textContent = why || "";
	$("token").focus();
}

const PAGES = { "": overview, "tree": tree, "policies": policies,
	"failures": failures, "search": search };

async function route() {
	const my = ++drawing;

	clearTimeout(timer);
	if (!token())
		return showLogin();
	$("login").hidden = true;
	$("nav").hidden = false;
	$("logout").hidden = false;
	if (role === null) {
		role = await whoami();
		if (role === null || my !== drawing)
			return;
	}
	$("who").textContent = role;
	const h = location.hash.replace(/^#\/?/, "");
	const [path, qs] = h.split("?");
	const parts = path.split("/");
	const params = new URLSearchParams(qs || "");
	let fn = PAGES[parts[0]], arg = params;
	if (parts[0] === "endpoint" && parts[1]) {
		fn = endpoint;
		arg = decodeURIComponent(parts[1]);
	}
	for (const a of document.querySelectorAll("#nav a"))
		a.classList.toggle("current", a.dataset.page === (parts[0] ||
			"overview"));
	if (!fn) {
		$("page").replaceChildren(el("h1", {}, "Not found"));
		return;
	}
	const page = el("div", { "data-page": parts[0] || "overview" });
	let again = 0;
	try {
		again = await fn(page, arg);
		if (!$("error").classList.contains("muted"))
			note("");
	} catch (e) {
		note(e.message, true);
		again = 5000;
	}
	if (!token() || my !== drawing)
		return;
	/* A page drawn whole, then swapped in: no flicker, no half state. */
	const old = $("page");
	const keep = old.querySelector("form.search");
	if (keep && page.querySelector("form.search") && fn === search &&
	    document.activeElement && keep.contains(document.activeElement))
		return;
	old.replaceChildren(page);
	document.body.dataset.loaded = parts[0] || "overview";
	$("updated").textContent = "updated " + new Date().toLocaleTimeString();
	if (again)
		timer = setTimeout(route, again);
}

document.addEventListener("DOMContentLoaded", () => {
	$("login").addEventListener("submit", (ev) => {
		ev.preventDefault();
		const t = $("token").value.trim();
		if (!t)
			return;
		sessionStorage.setItem(TOKEN_KEY, t);
		$("token").value = "";
		role = null;
		route();
	});
	$("logout").addEventListener("click", () => signOut(""));
	window.addEventListener("hashchange", route);
	route();
});
