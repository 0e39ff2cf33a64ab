// web/dashboard.js — fetches the job service's API (signed in by the HttpOnly cookie) and
// draws the dashboard with Chart.js; refreshes itself every 5 s. Clicking a job opens its
// drill-down: a timeline of its chunks, its most expensive chunks and its retries.
"use strict";

const charts = {};
let openJob = null;

async function api(path) {
  const r = await fetch(path, { credentials: "same-origin" });
  if (r.status === 401) throw new Error("unauthorized");
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}

const palette = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00"];

// One chart per canvas, updated in place on refresh; datasets coloured in turn.
function draw(id, config) {
  config.data.datasets.forEach((d, i) => {
    d.backgroundColor = d.backgroundColor || palette[i % palette.length];
    d.borderColor = d.borderColor || palette[i % palette.length];
  });
  if (charts[id]) {
    charts[id].data = config.data;
    charts[id].update("none");
    return;
  }
  config.options = Object.assign({ animation: false, responsive: true }, config.options || {});
  charts[id] = new Chart(document.getElementById(id), config);
}

// Money as people read it: dollars to the cent from $1, to a hundredth of a cent below,
// and cents below a cent (never an exponent).
function dollars(v) {
  const a = Math.abs(v);
  if (a === 0) return "$0";
  if (a >= 1) return "$" + v.toFixed(2);
  if (a >= 0.01) return "$" + v.toFixed(4);
  const cents = v * 100;
  return (Math.abs(cents) >= 0.001 ? cents.toFixed(4) : cents.toFixed(7)).replace(/0+$/, "").replace(/\.$/, "") + "¢";
}
const moneyAxis = { ticks: { callback: (v) => dollars(v) } };

// Dollars as a figure beside a "$": to the cent from a dollar, else to three significant
// digits (never 0.000000 for a cost that is not zero); the same rule as the reports'.
function usd(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  return v.toFixed(a >= 1 ? 2 : Math.min(12, 2 - Math.floor(Math.log10(a))));
}

// One unit for a whole column of money: dollars to the cent when its largest value is a
// dollar or more, else cents, with the decimals its smallest non-zero value needs to show
// three significant digits (at most 6).
function moneyColumn(values) {
  const largest = Math.max(0, ...values.map(Math.abs));
  if (largest >= 1) return { unit: "$", format: (v) => v.toFixed(2) };
  const smallest = Math.min(...values.filter((v) => v !== 0).map((v) => Math.abs(v) * 100), largest * 100 || 1);
  const decimals = Math.min(6, Math.max(2, 2 - Math.floor(Math.log10(smallest))));
  return { unit: "¢", format: (v) => (v * 100).toFixed(decimals) };
}

// A log axis labelled at 1, 2 and 5 of each decade only: every tick labelled made the
// labels overlap.
function decadeLabel(v, format) {
  const mantissa = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
  return [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6) ? format(v) : "";
}

function seconds(v) {
  return (v >= 1 ? String(Math.round(v)) : Number(v.toPrecision(1)).toFixed(Math.min(6, Math.ceil(-Math.log10(v))))) + " s";
}

function keysOf(series, field) {
  const keys = new Set();
  for (const point of series) for (const [k, v] of Object.entries(point[field] || {})) if (v > 0) keys.add(k);
  return [...keys];
}

// Billed cost stacked with the cloud-equivalent cost of owned local slots, labelled as such.
function costChart(id, series, unit) {
  const labels = series.map((p) => new Date(p.start_unix_s * 1000).toISOString().slice(0, unit === "day" ? 10 : 13));
  const datasets = keysOf(series, "cost_usd").map((k) => ({ label: k + " (billed)", data: series.map((p) => p.cost_usd[k] || 0) }))
    .concat(keysOf(series, "cloud_equivalent_usd").map((k) => ({ label: k + " (cloud-equivalent)",
      data: series.map((p) => (p.cloud_equivalent_usd || {})[k] || 0) })));
  draw(id, { type: "bar", data: { labels, datasets },
    options: { scales: { x: { stacked: true }, y: Object.assign({ stacked: true }, moneyAxis) } } });
}

function drawStats(s) {
  document.getElementById("n-jobs").textContent = s.jobs;
  document.getElementById("n-cost").textContent = dollars(s.cost_usd) +
    (s.cloud_equivalent_usd > 0 ? " billed + " + dollars(s.cloud_equivalent_usd) + " cloud-equivalent" : "");
  // GPU-seconds where GPUs billed; a CPU-only service shows the seconds it billed at all.
  const billedTotal = Object.values(s.billed_seconds_by_hardware).reduce((a, b) => a + b, 0);
  const gpus = s.gpu_seconds > 0;
  document.getElementById("n-gpu-label").textContent = gpus ? "billed GPU-seconds" : "billed seconds";
  document.getElementById("n-gpu").textContent = (gpus ? s.gpu_seconds : billedTotal).toFixed(1);
  const profileName = s.profile.name + " " + s.profile.version;
  document.getElementById("n-profile").textContent = profileName;
  document.getElementById("n-profile").title = profileName;
  costChart("c-cost-hour", s.cost_per_hour_by_endpoint, "hour");
  costChart("c-cost-hour-hw", s.cost_per_hour_by_hardware, "hour");
  costChart("c-cost-day-ep", s.cost_per_day_by_endpoint, "day");
  costChart("c-cost-day", s.cost_per_day_by_hardware, "day");
  const billed = Object.entries(s.billed_seconds_by_hardware);
  draw("c-billed", { type: "bar", data: { labels: billed.map((b) => b[0]), datasets: [{ label: "billed s", data: billed.map((b) => b[1]) }] } });
  const l = s.latency_s;
  draw("c-latency", { type: "bar", data: { labels: ["p50", "p90", "p99"],
    datasets: [{ label: "wall time, s", data: [l.p50, l.p90, l.p99] },
      { type: "line", label: "deadline (" + l.deadline + " s)", data: [l.deadline, l.deadline, l.deadline],
        pointRadius: 0, borderDash: [6, 4], borderColor: "#b00", backgroundColor: "#b00" }] },
    // Seconds on a log axis: a deadline of minutes and percentiles of a fraction of a second
    // are both visible.
    options: { scales: { y: { type: "logarithmic", ticks: { autoSkip: true, callback: (v) => decadeLabel(v, seconds) } } } } });
  const pva = s.predicted_vs_actual;
  draw("c-predicted", { type: "scatter", data: { datasets: [{ label: "jobs (predicted s, actual s)",
    data: pva.map((j) => ({ x: j.predicted_s, y: j.actual_s })) }] } });
  const local = pva.some((j) => j.actual_usd === 0 && j.cloud_equivalent_usd > 0);
  draw("c-predicted-cost", { type: "scatter", data: { datasets: [{
    label: local ? "jobs (predicted, actual cloud-equivalent $)" : "jobs (predicted $, actual $)",
    data: pva.map((j) => ({ x: j.predicted_usd, y: j.actual_usd || j.cloud_equivalent_usd || 0 })) }] },
    options: { scales: { x: moneyAxis, y: moneyAxis } } });
  draw("c-errors", { type: "bar", data: { labels: s.error_rate_by_chunks.map((e) => e.chunks + " chunks"),
    datasets: [{ label: "failed share", data: s.error_rate_by_chunks.map((e) => e.rate) }] } });
  draw("c-lengths", { type: "bar", data: { labels: s.clip_lengths.map((b) => b.bucket),
    datasets: [{ label: "jobs", data: s.clip_lengths.map((b) => b.jobs) }] } });
  draw("c-arrivals", { type: "bar", data: { labels: [...Array(24).keys()].map((h) => h + ":00"),
    datasets: [{ label: "jobs", data: s.arrivals_by_hour_utc }] } });
  drawThresholds(s.profile);
  drawLabels(s.by_label || {});
}

// Cost and jobs per value of the chosen label key (billed, or the cloud-equivalent of
// owned slots when nothing was billed).
function drawLabels(byLabel) {
  const select = document.getElementById("label-key");
  const keys = Object.keys(byLabel);
  const chosen = keys.includes(select.value) ? select.value : keys[0];
  select.replaceChildren(...keys.map((k) => new Option(k, k, false, k === chosen)));
  document.getElementById("no-labels").hidden = keys.length > 0;
  const body = document.querySelector("#by-label tbody");
  body.replaceChildren();
  const rows = chosen ? byLabel[chosen] : [];
  // Billed cost, or the cloud-equivalent of owned slots when nothing was billed; each money
  // column in one unit, named in its header.
  const costOf = (r) => (r.cost_usd > 0 || !r.cloud_equivalent_usd ? r.cost_usd : r.cloud_equivalent_usd);
  const total = moneyColumn(rows.map(costOf));
  const perJob = moneyColumn(rows.map((r) => costOf(r) / Math.max(1, r.jobs)));
  document.getElementById("by-label-cost").textContent = "cost (" + total.unit + ")";
  document.getElementById("by-label-per-job").textContent = "per job (" + perJob.unit + ")";
  for (const r of rows) {
    const row = body.insertRow();
    const note = r.cost_usd > 0 || !r.cloud_equivalent_usd ? "" : " (cloud-equivalent)";
    cell(row, r.value === "" ? "(none)" : r.value);
    cell(row, r.jobs);
    cell(row, r.failed, r.failed > 0 ? "failed" : "");
    cell(row, total.format(costOf(r)) + note);
    cell(row, perJob.format(costOf(r) / Math.max(1, r.jobs)));
  }
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
}

// Each budget of --budgets: its cap, spend, reservations and forecast, the share used (spent
// and reserved) marked past nine tenths, and its reset; hidden without budgets.
function drawBudgets(b) {
  const list = (b && b.budgets) || [];
  document.getElementById("budgets-section").hidden = list.length === 0;
  document.getElementById("budgets-zone").textContent = list.length ? "windows in " + b.time_zone : "";
  const body = document.querySelector("#budgets tbody");
  body.replaceChildren();
  for (const u of list) {
    const row = body.insertRow();
    const used = (u.spent_usd + u.reserved_usd) / u.usd;
    cell(row, u.name);
    cell(row, u.per);
    cell(row, u.at_cap);
    cell(row, dollars(u.usd));
    cell(row, dollars(u.spent_usd));
    cell(row, dollars(u.reserved_usd));
    cell(row, dollars(u.forecast_usd));
    cell(row, Math.round(100 * used) + " %", used >= 0.9 ? "failed" : "");
    cell(row, new Date(u.resets_unix_s * 1000).toISOString().slice(0, 16).replace("T", " "));
  }
}

function drawThresholds(profile) {
  const body = document.querySelector("#thresholds tbody");
  body.replaceChildren();
  for (const [endpoint, table] of Object.entries(profile.thresholds)) {
    for (const r of table.rows) {
      const row = body.insertRow();
      cell(row, endpoint);
      cell(row, r.from_s.toFixed(1) + " – " + (r.to_s === null || r.to_s > 1e9 ? "…" : r.to_s.toFixed(1)) + " s");
      cell(row, r.hardware);
      cell(row, r.chunks);
      cell(row, r.why);
    }
  }
  const changed = profile.changed_unix_s ? new Date(profile.changed_unix_s * 1000).toISOString() : "built in";
  document.getElementById("profile-changed").textContent = "(version " + profile.version + ", since " + changed + ")";
}

function drawJobs(jobs) {
  const body = document.querySelector("#jobs tbody");
  body.replaceChildren();
  const costOf = (j) => (j.actual.cost_usd > 0 || !j.actual.cloud_equivalent_usd ? j.actual.cost_usd : j.actual.cloud_equivalent_usd);
  const money = moneyColumn(jobs.map(costOf));
  document.getElementById("jobs-cost").textContent = "cost (" + money.unit + ")";
  for (const j of jobs) {
    const row = body.insertRow();
    row.dataset.id = j.id;
    const record = j.plan || {};
    const seconds = j.progress.frames_total / 30;
    cell(row, j.id);
    cell(row, j.endpoint);
    cell(row, seconds.toFixed(1));
    cell(row, (record.hardware || "?") + " × " + j.progress.chunks_total);
    cell(row, j.state, j.state === "failed" ? "failed" : "");
    cell(row, j.actual.wall_s.toFixed(2));
    cell(row, money.format(costOf(j)) + (j.actual.cost_usd > 0 || !j.actual.cloud_equivalent_usd ? "" : " (cloud-equivalent)"));
    row.addEventListener("click", () => { openJob = j.id; drawDrill(); });
  }
}

async function drawDrill() {
  if (!openJob) return;
  const job = await api("/v1/jobs/" + openJob);
  document.getElementById("drill").hidden = false;
  document.getElementById("drill-id").textContent = job.id + " (" + job.state + ")";
  const chunks = (job.record && job.record.chunk_results) || [];
  document.getElementById("drill-chunks").textContent = chunks.length;
  document.getElementById("drill-cost").textContent = usd(job.actual.cost_usd);
  document.getElementById("drill-cloud").textContent = usd((job.record && job.record.cloud_equivalent_usd) || 0);
  document.getElementById("drill-core").textContent = ((job.record && job.record.core_seconds) || 0).toFixed(2);
  document.getElementById("drill-wall").textContent = job.actual.wall_s.toFixed(2);
  const t = (c, k) => (c.timings_s && c.timings_s[k]) || 0;
  // A batch scheduler's chunk waits in the queue and, started cold, for its node to boot.
  const stages = [["queue", (c) => t(c, "queue")], ["node boot", (c) => t(c, "boot")], ["start-up", (c) => t(c, "open")],
    ["read", (c) => t(c, "decode")], ["pre-roll", (c) => t(c, "preroll")],
    ["process", (c) => t(c, "process")], ["write", (c) => t(c, "encode") + t(c, "upload")]];
  draw("c-timeline", { type: "bar", data: { labels: chunks.map((c) => "chunk " + c.index),
    datasets: stages.map(([label, f]) => ({ label, data: chunks.map(f) })) },
    options: { indexAxis: "y", scales: { x: { stacked: true }, y: { stacked: true } } } });
  const body = document.querySelector("#expensive tbody");
  body.replaceChildren();
  for (const c of chunks.slice().sort((a, b) => t(b, "round_trip") - t(a, "round_trip")).slice(0, 5)) {
    const row = body.insertRow();
    cell(row, c.index);
    cell(row, c.worker);
    cell(row, c.start || "warm");
    cell(row, t(c, "round_trip").toFixed(3));
    cell(row, c.attempts);
  }
  const retried = chunks.filter((c) => c.attempts > 1 || c.speculative);
  document.getElementById("retries").textContent = retried.length
    ? retried.map((c) => "chunk " + c.index + ": " + c.attempts + " attempts" + (c.speculative ? " (speculative copy won)" : "")).join("; ")
    : "none: every chunk ran once";
}

document.getElementById("label-key").addEventListener("change", () => refresh());

async function refresh() {
  try {
    const [stats, jobs, queue, budgets] = await Promise.all([api("/v1/stats?hours=24"), api("/v1/jobs?limit=100&order=newest"),
      api("/v1/queue"), api("/v1/budgets")]);
    document.getElementById("signin").hidden = true;
    document.getElementById("data").hidden = false;
    document.getElementById("n-queue").textContent = queue.queued + " / " + queue.running;
    drawStats(stats);
    drawJobs(jobs.jobs);
    drawBudgets(budgets);
    await drawDrill();
    document.getElementById("status").textContent = "updated " + new Date().toISOString().slice(11, 19) + " UTC";
  } catch (e) {
    if (e.message === "unauthorized") {
      // The service sends a refused sign-in back with ?signin=failed: say so, and the likely why.
      const refused = new URLSearchParams(window.location.search).get("signin") === "failed";
      document.getElementById("data").hidden = true;
      document.getElementById("signin").hidden = false;
      document.getElementById("signin-failed").hidden = !refused;
      document.getElementById("status").textContent = refused ? "sign-in refused" : "signed out";
    } else {
      document.getElementById("status").textContent = "error: " + e.message;
    }
  }
}

refresh();
setInterval(refresh, 5000);
