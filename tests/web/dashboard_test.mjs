// tests/web/dashboard_test.mjs — the dashboard in a real headless Chromium (Debian's, driven
// by playwright-core) against a real `reelscale serve` on loopback: without the token it
// shows no data; /?token= signs in with an HttpOnly cookie; the charts, the thresholds and
// the job list are drawn; a job opens into its chunk timeline; the page refreshes itself;
// and nothing is loaded from anywhere but the service.
// Usage: node tests/web/dashboard_test.mjs REELSCALE_BINARY
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "node:net";
import assert from "node:assert/strict";
import { test, after } from "node:test";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const binary = process.argv[2] || join(root, "build", "reelscale");
const shots = process.argv[3] || dirname(binary);  // screenshots go here
const token = "dashboard-test-token-0123456789";
const dir = mkdtempSync(join(tmpdir(), "reelscale-dashboard-"));
const sample = join(root, "samples", "tears_of_steel_10s_640x360.mp4");

function freePort() {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); });
  });
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
writeFileSync(join(dir, "token"), token + "\n");
// Budgets: the service's a month, and one user's a day.
writeFileSync(join(dir, "budgets.json"), JSON.stringify({ time_zone: "Europe/Paris", budgets: [
  { name: "service", per: "month", usd: 100, at_cap: "queue" },
  { name: "u-1", label: { user_id: "u-1" }, per: "day", usd: 50, at_cap: "reject" }] }));
const service = spawn(binary, ["serve", "--listen", `127.0.0.1:${port}`, "--db", join(dir, "jobs.db"), "--token-file",
  join(dir, "token"), "--allow", dir, "--allow", join(root, "samples"), "--budgets", join(dir, "budgets.json")],
  { stdio: "ignore" });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"] });
after(async () => { await browser.close(); service.kill("SIGTERM"); rmSync(dir, { recursive: true, force: true }); });

const auth = { Authorization: "Bearer " + token };
async function until(f, what, seconds = 30) {
  for (let i = 0; i < seconds * 10; i++) {
    try { const v = await f(); if (v) return v; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("timed out: " + what);
}
async function runJob(i, chunks) {
  const spec = { endpoint: "framing", input: sample, output: join(dir, `out${i}.mp4`), output_width: 202, output_height: 360,
    preset: "ultrafast", chunks, segments: [{ start: 0, end: 2 }],
    crop_keyframes: [{ time: 0, x: 100, y: 0, width: 202, height: 360 }],
    labels: { user_id: `u-${i}`, feature: "export" } };
  const r = await fetch(base + "/v1/jobs", { method: "POST", headers: auth, body: JSON.stringify(spec) });
  const body = await r.text();
  assert.equal(r.status, 202, body);
  const { id } = JSON.parse(body);
  return until(async () => {
    const j = await (await fetch(base + "/v1/jobs/" + id, { headers: auth })).json();
    return j.state === "done" ? j : null;
  }, "job " + id);
}

await until(async () => (await fetch(base + "/readyz")).ok, "the service to start");
const jobs = [await runJob(0, 1), await runJob(1, 3)];

test("without the token the page shows no data", async () => {
  const page = await browser.newPage();
  await page.goto(base + "/");
  await page.waitForSelector("#signin:not([hidden])");
  assert.equal(await page.isHidden("#data"), true);
  assert.equal(await page.locator("#jobs tbody tr").count(), 0);
  assert.equal(await page.evaluate(async () => (await fetch("/v1/jobs")).status), 401);
  await page.screenshot({ path: join(shots, "dashboard-signed-out.png") });
  await page.close();
});

// The README's recipe for a token makes URL-safe ones (issue 31: base64 gave + and / in about
// 40 % of tokens, and a link with one signed nothing in): 40 runs of the recipe as written,
// each token pasted into a link unencoded reads back as itself.
test("the README's token recipe makes tokens that survive a link", async () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const line = readme.split("\n").find((l) => l.includes("> token") && l.includes("/dev/urandom"));
  assert.ok(line, "the README has a token recipe");
  const recipe = line.split("#")[0].replace(/>\s*token\s*$/, "").trim();
  for (let i = 0; i < 40; i++) {
    const made = execFileSync("bash", ["-c", recipe], { encoding: "utf8" }).trim();
    assert.match(made, /^[A-Za-z0-9_-]{16,}$/, "token from: " + recipe);
    assert.equal(new URL(base + "/?token=" + made).searchParams.get("token"), made);
  }
});

// A token with + or / pasted into a link unencoded reads as another token (issue 31): the
// service refuses it, and the page says so and why instead of a bare "signed out".
test("a refused sign-in says why", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + "/?token=" + token.slice(0, 8) + "+x/y=");
  await page.waitForSelector("#signin-failed:not([hidden])");
  assert.match(await page.textContent("#signin-failed"), /URL-encode/);
  assert.equal(await page.textContent("#status"), "sign-in refused");
  assert.equal((await context.cookies()).length, 0, "no cookie for a refused token");
  await page.goto(base + "/");
  await page.waitForSelector("#signin:not([hidden])");
  assert.equal(await page.isHidden("#signin-failed"), true, "no hint when nothing was refused");
  await context.close();
});

test("signed in, it draws the charts, thresholds and jobs, drills into a job, and refreshes", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requested = [];
  page.on("request", (r) => requested.push(r.url()));
  await page.goto(base + "/?token=" + encodeURIComponent(token));
  assert.equal(new URL(page.url()).search, "", "the token is not left in the address");
  await page.waitForSelector("#data:not([hidden])");
  await until(async () => (await page.locator("#jobs tbody tr").count()) === 2, "two jobs listed");
  const cookies = await context.cookies();
  const cookie = cookies.find((c) => c.name === "reelscale_token");
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === "Strict", JSON.stringify(cookies));
  assert.equal(await page.evaluate(() => document.cookie.includes("reelscale_token")), false);
  const drawn = await page.evaluate(() => [...document.querySelectorAll(".charts canvas")]
    .map((c) => [c.id, Boolean(Chart.getChart(c))]));
  assert.equal(drawn.length, 11);
  for (const [id, ok] of drawn) assert.ok(ok, "chart " + id);
  // Not empty: every chart's canvas has drawn pixels.
  const blank = await page.evaluate(() => [...document.querySelectorAll(".charts canvas")].filter((c) => {
    const pixels = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return false;
    return true;
  }).map((c) => c.id));
  assert.deepEqual(blank, [], "blank charts");
  const points = await page.evaluate(() => Chart.getChart(document.getElementById("c-predicted")).data.datasets[0].data.length);
  assert.equal(points, 2, "predicted against actual, one point a job");
  assert.ok((await page.locator("#thresholds tbody tr").count()) > 0, "the live profile's thresholds");
  // The budgets: both, with what the two jobs spent against the service's and u-1's alone.
  assert.equal(await page.isHidden("#budgets-section"), false);
  assert.equal(await page.textContent("#budgets-zone"), "windows in Europe/Paris");
  const budgetRows = await page.evaluate(() => [...document.querySelectorAll("#budgets tbody tr")]
    .map((r) => [...r.cells].map((c) => c.textContent)));
  assert.deepEqual(budgetRows.map((r) => [r[0], r[1], r[2], r[3]]),
    [["service", "month", "queue", "$100.00"], ["u-1", "day", "reject", "$50.00"]]);
  for (const r of budgetRows) assert.notEqual(r[4], "$0", "spent: " + r.join(" | "));
  // The charts read right: the deadline is a line beside the percentiles, whose bars have
  // height; money axes have no exponents; local jobs are charted by their cloud-equivalent
  // cost, labelled so; the header's profile name stays inside the page.
  const latency = await page.evaluate(() => {
    const chart = Chart.getChart(document.getElementById("c-latency"));
    const bar = chart.getDatasetMeta(0).data[0];
    return { labels: chart.data.labels, types: chart.data.datasets.map((d) => d.type || chart.config.type),
             p50Height: Math.abs(bar.base - bar.y) };
  });
  assert.deepEqual(latency.labels, ["p50", "p90", "p99"]);
  assert.deepEqual(latency.types, ["bar", "line"], "the deadline drawn as a line");
  assert.ok(latency.p50Height > 1, "the p50 bar has visible height: " + latency.p50Height);
  const axisLabels = await page.evaluate(() => ["c-cost-hour", "c-cost-day", "c-predicted-cost"].flatMap((id) => {
    const chart = Chart.getChart(document.getElementById(id));
    return Object.values(chart.scales).flatMap((s) => s.ticks.map((t) => String(t.label)));
  }));
  assert.ok(axisLabels.length > 0);
  for (const label of axisLabels) assert.ok(!/E-|e-/.test(label), "an axis label with an exponent: " + label);
  const costLabels = await page.evaluate(() => Chart.getChart(document.getElementById("c-cost-hour")).data.datasets.map((d) => d.label));
  assert.ok(costLabels.some((l) => l.includes("cloud-equivalent")), "local runs charted by cloud-equivalent: " + costLabels);
  assert.match(await page.textContent("#n-cost"), /cloud-equivalent/);
  const header = await page.evaluate(() => {
    const e = document.getElementById("n-profile");
    return { right: e.getBoundingClientRect().right, width: document.documentElement.clientWidth, title: e.title };
  });
  assert.ok(header.right <= header.width, "the profile name fits the page");
  assert.ok(header.title.length > 0);
  // The job with three chunks opens into a timeline of three chunks.
  await page.locator(`#jobs tbody tr[data-id="${jobs[1].id}"]`).click();
  await page.waitForSelector("#drill:not([hidden])");
  await until(async () => page.evaluate(() => {
    const c = Chart.getChart(document.getElementById("c-timeline"));
    return c && c.data.labels.length === 3;
  }), "a three-chunk timeline");
  assert.equal(await page.locator("#expensive tbody tr").count(), 3);
  // Local slots are running processes: every chunk started warm; a batch scheduler's queue and
  // node boot have their own segments in the timeline.
  assert.deepEqual(await page.locator("#expensive tbody tr td:nth-child(3)").allTextContents(), ["warm", "warm", "warm"]);
  const segments = await page.evaluate(() => Chart.getChart(document.getElementById("c-timeline")).data.datasets.map((d) => d.label));
  assert.ok(segments.includes("queue") && segments.includes("node boot"), segments.join(", "));
  // Its chunk count and cost are what the job store holds.
  const stored = await (await fetch(base + "/v1/jobs/" + jobs[1].id, { headers: auth })).json();
  assert.equal(await page.textContent("#drill-chunks"), String(stored.record.chunk_results.length));
  assert.equal(stored.record.chunk_results.length, 3);
  // Money to three significant digits (issue 31: toFixed(6) showed $0.000005).
  const shownCost = await page.textContent("#drill-cost");
  assert.equal(shownCost, stored.actual.cost_usd === 0 ? "0" : shownCost);
  const shownCloud = await page.textContent("#drill-cloud");
  const cloud = stored.record.cloud_equivalent_usd;
  assert.ok(Math.abs(Number(shownCloud) - cloud) <= 0.005 * cloud, shownCloud + " vs " + cloud);
  assert.ok(shownCloud.replace(/^0\.0*/, "").length >= 3, "three significant digits: " + shownCloud);
  assert.ok(stored.record.cloud_equivalent_usd > 0, "owned slots: the cloud-equivalent price is shown");
  assert.match(await page.textContent("#retries"), /every chunk ran once/);
  // Cost by label: a row per user, each what its job's record cost; the key can be changed.
  const keys = await page.locator("#label-key option").allTextContents();
  assert.deepEqual(keys.sort(), ["feature", "user_id"]);
  await page.selectOption("#label-key", "user_id");
  await until(async () => (await page.locator("#by-label tbody tr").count()) === 2, "a row per user");
  const rows = await page.locator("#by-label tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  // Money in one unit per column, named in its header (issue 31: "cost $" headed ¢ values);
  // each cell a plain number in that unit, to three significant digits or better.
  const costHeader = await page.textContent("#by-label-cost");
  const perJobHeader = await page.textContent("#by-label-per-job");
  assert.match(costHeader, /^cost \((\$|¢)\)$/);
  assert.match(perJobHeader, /^per job \((\$|¢)\)$/);
  const inUnit = (usd, header) => (header.includes("¢") ? usd * 100 : usd);
  for (const j of jobs) {
    const row = rows.find((r) => r[0] === j.labels.user_id);
    assert.ok(row, "a row for " + j.labels.user_id + ": " + JSON.stringify(rows));
    assert.equal(row[1], "1");
    const shown = row[3].replace(" (cloud-equivalent)", "");
    assert.match(shown, /^[0-9]+\.[0-9]+$/, "a number without a unit of its own: " + row[3]);
    const expected = inUnit(j.record.cloud_equivalent_usd, costHeader);
    assert.ok(expected > 0 && Math.abs(Number(shown) - expected) <= 0.005 * expected, row[3] + " vs " + expected);
    assert.ok(Math.abs(Number(row[4]) - inUnit(j.record.cloud_equivalent_usd, perJobHeader)) <= 0.005 * expected, row[4]);
  }
  const jobsHeader = await page.textContent("#jobs-cost");
  assert.match(jobsHeader, /^cost \((\$|¢)\)$/);
  const jobCosts = await page.locator("#jobs tbody tr").evaluateAll((trs) => trs.map((tr) => tr.cells[6].textContent));
  for (const c of jobCosts) assert.match(c.replace(" (cloud-equivalent)", ""), /^[0-9]+\.[0-9]+$/, c);
  // A CPU-only service bills no GPU: the header says what it shows.
  assert.equal(await page.textContent("#n-gpu-label"), "billed seconds");
  // The latency chart's log axis labels 1, 2 and 5 of each decade, no more (they overlapped).
  const labelled = await page.evaluate(() => Chart.getChart(document.getElementById("c-latency")).scales.y.ticks
    .map((t) => t.label).filter((l) => l !== "" && l !== undefined));
  assert.ok(labelled.length >= 1 && labelled.length <= 10, JSON.stringify(labelled));
  for (const l of labelled) assert.match(String(l), /^(0\.0*)?[125]0* s$|^[125]0* s$/, JSON.stringify(labelled));
  await page.selectOption("#label-key", "feature");
  await until(async () => (await page.locator("#by-label tbody tr").count()) === 1, "one feature");
  assert.equal(await page.locator("#by-label tbody tr td").first().textContent(), "export");
  // It refreshes by itself: a third job appears without a reload.
  await runJob(2, 2);
  await until(async () => (await page.locator("#jobs tbody tr").count()) === 3, "the third job, after a refresh", 15);
  for (const url of requested) assert.ok(url.startsWith(base + "/"), "loaded from elsewhere: " + url);
  await page.screenshot({ path: join(shots, "dashboard.png"), fullPage: true });
  await context.close();
});
