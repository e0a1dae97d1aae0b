// MediaGen's operator dashboard: polls its own JSON endpoints (relative to this page) and renders each panel with DOM
// calls only (no inline markup from data). Actions are POSTs carrying the antiforgery token from api/antiforgery.
"use strict";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 3000;
let antiforgery = null;
let timer = null;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "className") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child == null) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) throw new Error(await describe(response));
  return response.json();
}

async function describe(response) {
  try {
    const problem = await response.json();
    return `${response.status} ${problem.title || ""} ${problem.code ? "(" + problem.code + ")" : ""}`.trim();
  } catch {
    return `HTTP ${response.status}`;
  }
}

async function post(path) {
  antiforgery ||= await getJson("api/antiforgery");
  const response = await fetch(path, { method: "POST", credentials: "same-origin", headers: { [antiforgery.headerName]: antiforgery.token } });
  if (!response.ok) throw new Error(await describe(response));
  return response.status === 204 ? null : response.json();
}

function ago(iso) {
  if (!iso) return "";
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return duration(seconds) + " ago";
}

function duration(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

function when(iso) { return iso ? h("span", { title: iso }, ago(iso)) : ""; }

function jobLink(id) {
  return h("a", { href: `#job=${id}`, className: "mono", "data-job": id }, id.length > 12 ? id.slice(0, 12) + "…" : id);
}

function status(value) { return value ? h("span", { className: `status-${value}` }, value) : ""; }

function fill(tbody, rows, columns, empty) {
  tbody.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: columns, className: "empty" }, empty))]));
}

function renderQueue(q) {
  const card = (label, n, bad) => h("div", { className: `card${bad && n > 0 ? " bad" : ""}` }, h("div", { className: "n" }, n < 0 ? "?" : n), h("div", { className: "l" }, label));
  $("depth").replaceChildren(card("ready", q.depth.ready), card("delayed", q.depth.delayed), card("leased", q.depth.leased), card("dead-lettered", q.depth.deadLettered, true));
  $("oldest").textContent = q.oldestPendingAgeSeconds == null ? "No pending job." : `Oldest pending job: ${duration(q.oldestPendingAgeSeconds)} old.`;
  if (q.scanLimitReached) $("oldest").textContent += " (Counts stop at the scan limit.)";
  fill($("states"), q.jobs.map((s) => h("tr", {}, h("td", {}, status(s.status)), h("td", {}, s.priority), h("td", {}, s.count))), 3, "No pending or running job.");
}

function renderThroughput(t) {
  $("window").textContent = `last ${t.minutes} min, this process`;
  fill($("models"), t.models.map((m) => {
    const max = Math.max(1, ...m.succeededPerMinute.map((s, i) => s + m.failedPerMinute[i]));
    const bars = h("div", { className: "bars", title: "jobs per minute, oldest first" }, m.succeededPerMinute.map((s, i) => {
      const f = m.failedPerMinute[i];
      const bar = h("span", { className: f > 0 ? "failed" : "", title: `${s} succeeded, ${f} failed` });
      bar.style.height = `${Math.round(((s + f) / max) * 24)}px`;
      return bar;
    }));
    return h("tr", {}, h("td", {}, m.model), h("td", {}, m.succeeded), h("td", {}, m.failed), h("td", {}, `${(m.failureRate * 100).toFixed(1)} %`), h("td", {}, bars));
  }), 5, "No job finished in the window.");
}

function renderWorkers(workers) {
  fill($("workerRows"), workers.map((w) => h("tr", {},
    h("td", { className: "mono" }, w.workerId),
    h("td", {}, `${w.running} / ${w.concurrency}`),
    h("td", {}, when(w.lastHeartbeatAt)),
    h("td", {}, when(w.startedAt)))), 4, "No worker has sent a heartbeat.");
}

function renderRunning(jobs) {
  fill($("runningRows"), jobs.map((j) => h("tr", {},
    h("td", {}, jobLink(j.id)),
    h("td", {}, j.ownerId),
    h("td", {}, j.model),
    h("td", {}, `${j.attempt} (run ${j.run})`),
    h("td", {}, h("progress", { max: 1, value: j.progress }), " ", `${Math.round(j.progress * 100)} %`, j.cancelRequested ? " cancel requested" : ""),
    h("td", { className: "mono" }, j.worker || ""))), 6, "Nothing is running.");
}

function renderDeadLetters(letters) {
  fill($("deadLetterRows"), letters.map((d) => h("tr", { "data-message": d.messageId },
    h("td", {}, jobLink(d.jobId)),
    h("td", { className: "mono" }, d.reason),
    h("td", {}, d.description || ""),
    h("td", {}, d.deliveryCount),
    h("td", {}, when(d.deadLetteredAt)),
    h("td", {}, status(d.jobStatus) || "gone"),
    h("td", {},
      h("button", { type: "button", className: "primary replay", onclick: (e) => act(e.target, `api/dead-letters/${encodeURIComponent(d.messageId)}/replay`) }, "Replay"), " ",
      h("button", { type: "button", className: "danger delete", onclick: (e) => confirm("Delete this dead letter for good?") && act(e.target, `api/dead-letters/${encodeURIComponent(d.messageId)}/delete`) }, "Delete")))),
  7, "No dead letter.");
}

function renderFailures(failures) {
  fill($("failureRows"), failures.map((f) => h("tr", {},
    h("td", {}, jobLink(f.id)),
    h("td", {}, f.ownerId),
    h("td", {}, f.model),
    h("td", { className: "mono" }, f.code || ""),
    h("td", {}, f.message || ""),
    h("td", {}, when(f.failedAt)))), 6, "No failed job.");
}

async function act(button, path) {
  button.disabled = true;
  try {
    await post(path);
    $("error").textContent = "";
  } catch (e) {
    $("error").textContent = e.message;
  }
  await refresh();
}

async function showDetail(id) {
  if (!id) { $("detail").hidden = true; return; }
  try {
    const d = await getJson(`api/jobs/${encodeURIComponent(id)}`);
    const j = d.job;
    $("detail").hidden = false;
    $("detailId").textContent = j.id;
    const field = (name, value) => [h("dt", {}, name), h("dd", {}, value ?? "")];
    $("detailFields").replaceChildren(...[
      field("Status", status(j.status)),
      field("Owner", d.ownerId),
      field("Model", j.model),
      field("Prompt", j.prompt),
      field("Attempt / run", `${j.attempt} / ${j.run}`),
      field("Progress", `${Math.round(j.progress * 100)} % ${j.progressMessage || ""}`),
      field("Created", `${j.createdAt} (${ago(j.createdAt)})`),
      field("Started", j.startedAt || ""),
      field("Completed", j.completedAt || ""),
      field("Worker", d.worker || ""),
      field("Lease holder", d.leaseHolder ? h("span", { className: "mono" }, d.leaseHolder) : ""),
      field("Provider checkpoint", d.checkpoint ? h("span", { className: "mono" }, d.checkpoint) : "none"),
      field("Credits", `${j.creditsCharged} charged, ${j.creditsRefunded} refunded`),
      field("Error", j.error ? `${j.error.code}: ${j.error.message}` : ""),
    ].flat());
    $("detailOutputs").replaceChildren(...j.outputs.map((o) => h("figure", {},
      h("a", { href: o.url, target: "_blank", rel: "noopener" }, h("img", { src: o.url, alt: `output ${o.index}`, className: "output" })),
      h("figcaption", {}, o.thumbnailUrl ? h("img", { src: o.thumbnailUrl, alt: `thumbnail ${o.index}`, className: "thumbnail" }) : null, `${o.width}×${o.height}, ${o.contentType}`))));
    fill($("detailEvents"), d.events.map((ev) => h("tr", {},
      h("td", {}, ev.sequence ?? ""),
      h("td", {}, ev.type),
      h("td", {}, when(ev.timestamp)),
      h("td", {}, status(ev.status)),
      h("td", {}, ev.attempt),
      h("td", {}, eventDetail(ev)))), 6, "No event kept.");
  } catch (e) {
    $("detail").hidden = true;
    $("error").textContent = e.message;
  }
}

function eventDetail(ev) {
  if (ev.error) return `${ev.error.code}: ${ev.error.message}`;
  if (ev.output) return `output ${ev.output.index} stored (${ev.output.contentType})`;
  if (ev.progress != null) return `${Math.round(ev.progress * 100)} % ${ev.message || ""}`;
  return ev.message || "";
}

function selectedJob() { return (/^#job=([^&]+)$/.exec(location.hash) || [])[1]; }

async function refresh() {
  clearTimeout(timer);
  try {
    const [queue, throughput, workers, running, deadLetters, failures] = await Promise.all(
      ["queue", "throughput", "workers", "running", "dead-letters", "failures"].map((p) => getJson(`api/${p}`)));
    renderQueue(queue);
    renderThroughput(throughput);
    renderWorkers(workers);
    renderRunning(running);
    renderDeadLetters(deadLetters);
    renderFailures(failures);
    $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
    if (!$("error").textContent.startsWith("4")) $("error").textContent = "";
    if (selectedJob()) await showDetail(selectedJob());
  } catch (e) {
    $("error").textContent = e.message;
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

$("refresh").addEventListener("click", refresh);
$("closeDetail").addEventListener("click", () => { history.replaceState(null, "", location.pathname); $("detail").hidden = true; });
window.addEventListener("hashchange", () => showDetail(selectedJob()));
refresh();
