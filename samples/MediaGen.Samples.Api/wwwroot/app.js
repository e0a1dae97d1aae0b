// The sample page: submit a prompt, follow the job over server-sent events, browse the owner's outputs. No build
// step and no request to any other host.
"use strict";

const $ = (id) => document.getElementById(id);
const FINAL = ["succeeded", "failed", "canceled"];
const PAGE_SIZE = 12;
const state = { models: [], source: null, jobId: null, status: null, cursors: [null], page: 0, nextCursor: null };

function apiKey() { return $("apiKey").value.trim(); }

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (apiKey()) headers["X-Api-Key"] = apiKey();
  if (options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { ...options, headers });
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) throw Object.assign(new Error(describeProblem(body, response.status)), { status: response.status, body });
  return body;
}

function describeProblem(problem, status) {
  if (!problem) return `HTTP ${status}`;
  const fields = problem.errors ? Object.entries(problem.errors).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`).join("\n") : "";
  return [problem.title, fields || problem.detail].filter(Boolean).join("\n");
}

function plural(n, word) { return `${n} ${word}${n === 1 ? "" : "s"}`; }

async function loadModels() {
  state.models = await api("/api/v1/models");
  $("model").innerHTML = state.models.map((m) => `<option value="${escapeHtml(m.id)}">${escapeHtml(m.displayName)}</option>`).join("");
  onModelChange();
  // Generate waits for the catalog: a submit before it would name no model.
  $("submit").disabled = state.models.length === 0;
}

function currentModel() { return state.models.find((m) => m.id === $("model").value); }

function onModelChange() {
  const model = currentModel();
  if (!model) return;
  const ratios = model.settings.aspectRatios || [];
  $("aspectRatio").innerHTML = ratios.length ? ratios.map((r) => `<option>${escapeHtml(r)}</option>`).join("") : "<option value=''>default</option>";
  // Keep the count asked for when the new model allows it.
  const asked = Math.min(Number($("outputCount").value || 1), model.settings.maxOutputs);
  const counts = [];
  for (let i = 1; i <= model.settings.maxOutputs; i++) counts.push(`<option${i === asked ? " selected" : ""}>${i}</option>`);
  $("outputCount").innerHTML = counts.join("");
  $("modelInfo").textContent = `${plural(model.costCredits, "credit")} per image, about ${model.expectedSeconds.toFixed(1)} s per job.`;
  showPrice();
}

// The price before submitting: the model's cost per output times the outputs asked for.
function showPrice() {
  const model = currentModel();
  const count = Number($("outputCount").value || 1);
  $("price").textContent = model ? `Costs ${plural(model.costCredits * count, "credit")}` : "";
}

async function loadBalance() {
  try {
    const credits = await api("/api/v1/credits");
    $("balance").textContent = `${credits.balance} (${credits.ownerId})`;
  } catch (e) {
    $("balance").textContent = e.status === 401 ? "API key needed" : "?";
  }
}

// The gallery: the owner's jobs, newest first, one page at a time (cursor paging; "Newer" walks back the cursors seen).
async function loadGallery() {
  try {
    const cursor = state.cursors[state.page];
    const page = await api(`/api/v1/generations?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    state.nextCursor = page.nextCursor;
    $("gallery").innerHTML = page.items.map(tile).join("") || "<li class='empty'>No images yet: type a prompt and press Generate.</li>";
    $("older").disabled = !page.nextCursor;
    $("newer").disabled = state.page === 0;
    $("pageInfo").textContent = page.items.length ? `page ${state.page + 1}` : "";
  } catch (e) {
    $("gallery").innerHTML = `<li class="empty error">${escapeHtml(e.message)}</li>`;
  }
}

function tile(job) {
  const output = job.outputs[0];
  const src = output ? (output.thumbnailUrl || output.url) : null;
  const image = src ? `<img src="${escapeHtml(src)}" alt="${escapeHtml(job.prompt)}" loading="lazy">` : "";
  const current = job.id === state.jobId ? " current" : "";
  const label = (job.status === "succeeded" ? job.prompt : `${job.status}: ${job.prompt}`) + (job.cacheHit ? " (cached)" : "");
  return `<li class="${current}" data-id="${job.id}" data-status="${job.status}" title="${escapeHtml(job.prompt)}">${image}<span class="badge">${escapeHtml(label)}</span></li>`;
}

async function submit(event) {
  event.preventDefault();
  $("formError").textContent = "";
  $("submit").disabled = true;
  const body = {
    prompt: $("prompt").value,
    model: $("model").value,
    outputCount: Number($("outputCount").value),
  };
  if ($("aspectRatio").value) body.aspectRatio = $("aspectRatio").value;
  if ($("seed").value !== "") body.seed = Number($("seed").value);
  if ($("useResultCache").checked) body.useResultCache = true;
  try {
    const job = await api("/api/v1/generations", { method: "POST", body: JSON.stringify(body), headers: { "Idempotency-Key": crypto.randomUUID() } });
    follow(job.id);
    loadBalance();
    firstPage();
  } catch (e) {
    $("formError").textContent = e.message;
  } finally {
    $("submit").disabled = false;
  }
}

function follow(jobId) {
  if (state.source) state.source.close();
  state.jobId = jobId;
  state.status = null;
  history.replaceState(null, "", `#job=${jobId}`);
  $("jobPanel").hidden = false;
  $("jobId").textContent = jobId;
  $("images").innerHTML = "";
  $("jobError").textContent = "";
  $("queuePosition").textContent = "";
  $("log").innerHTML = "";
  for (const li of document.querySelectorAll("#gallery li")) li.classList.toggle("current", li.dataset.id === jobId);
  const query = apiKey() ? `?apiKey=${encodeURIComponent(apiKey())}` : "";
  const source = new EventSource(`/api/v1/generations/${jobId}/events${query}`);
  state.source = source;
  source.addEventListener("job", (e) => {
    const job = JSON.parse(e.data);
    render(job);
    if (FINAL.includes(job.status)) {
      source.close();
      loadBalance();
      loadGallery();
    }
  });
  for (const type of ["queued", "started", "progress", "outputStored", "retrying", "cancelRequested", "retried", "succeeded", "failed", "canceled"]) {
    source.addEventListener(type, (e) => {
      const ev = JSON.parse(e.data);
      log(`${type}${ev.progress != null ? " " + Math.round(ev.progress * 100) + "%" : ""}${ev.message ? " — " + ev.message : ""}`);
      setStatus(ev.status);
      if (ev.progress != null) setProgress(ev.progress, ev.message);
      if (ev.output) addImage(ev.output);
      if (ev.error) $("jobError").textContent = `${ev.error.code}: ${ev.error.message}`;
      if (type === "cancelRequested") $("cancel").disabled = true;
    });
  }
  source.addEventListener("position", (e) => showQueuePosition(JSON.parse(e.data).position));
  // The stream closes after the final "job" event; the browser's reconnect attempts are not errors of the page.
  source.onerror = () => { if (FINAL.includes(state.status)) source.close(); };
}

// The place in the queue while pending, from the stream's "position" events (0 = the next job to start).
function showQueuePosition(position) {
  $("queuePosition").textContent = state.status === "pending" && position != null
    ? (position === 0 ? "next in the queue" : `${position} ahead in the queue`)
    : "";
}

// The stream's events come in the order the server numbered them, so the page follows them as they come. Their
// timestamps are not an order: a progress report stamped just after a cancel was decided can be published just before
// it. An action's answer is another matter: it can arrive after the stream's later events (a cancel's response after
// the "canceled" event), and must not take a finished job back to running; only a retry starts it again, and that
// follows the job afresh.
function stale(job) {
  return FINAL.includes(state.status) && !FINAL.includes(job.status);
}

function render(job) {
  setStatus(job.status);
  setProgress(job.status === "succeeded" ? 1 : job.progress, job.progressMessage);
  $("cancel").disabled = !["pending", "processing"].includes(job.status) || job.cancelRequested;
  const failed = (job.failedOutputs || []).map((f) => `output ${f.index} failed (${f.code}): ${f.message}`);
  if (failed.length) failed.push(`${job.creditsRefunded} of ${job.creditsCharged} credits refunded.`);
  $("jobError").textContent = job.error && job.status !== "succeeded" ? `${job.error.code}: ${job.error.message}` : failed.join("\n");
  if (job.outputs.length) {
    $("images").innerHTML = "";
    job.outputs.forEach(addImage);
  }
}

// An output: the image, with its thumbnail (when the host makes them) and its size beneath.
function addImage(output) {
  const id = `out-${output.index}`;
  const existing = document.getElementById(id);
  if (existing && (existing.dataset.thumbnail || !output.thumbnailUrl)) return;
  const figure = document.createElement("figure");
  figure.id = id;
  const img = document.createElement("img");
  img.className = "output";
  img.src = output.url;
  img.alt = `output ${output.index}`;
  figure.appendChild(img);
  const caption = document.createElement("figcaption");
  if (output.thumbnailUrl) {
    figure.dataset.thumbnail = "1";
    const thumb = document.createElement("img");
    thumb.className = "thumbnail";
    thumb.src = output.thumbnailUrl;
    thumb.alt = `thumbnail of output ${output.index}`;
    caption.appendChild(thumb);
  }
  caption.append(`${output.width}×${output.height}, ${Math.round(output.size / 1024)} KiB`);
  figure.appendChild(caption);
  if (existing) existing.replaceWith(figure); else $("images").appendChild(figure);
}

function setStatus(status) {
  state.status = status;
  if (status !== "pending") showQueuePosition(null);
  $("status").textContent = status;
  $("status").className = `status ${status}`;
  $("cancel").disabled = !["pending", "processing"].includes(status);
  $("retry").disabled = !["failed", "canceled"].includes(status);
}

function setProgress(fraction, message) {
  $("bar").style.width = `${Math.round((fraction || 0) * 100)}%`;
  $("progressText").textContent = message || "";
}

function log(line) {
  const div = document.createElement("div");
  div.textContent = `${new Date().toLocaleTimeString()} ${line}`;
  $("log").prepend(div);
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function firstPage() { state.cursors = [null]; state.page = 0; loadGallery(); }

async function jobAction(action) {
  if (!state.jobId) return;
  $("jobError").textContent = "";
  try {
    const job = await api(`/api/v1/generations/${state.jobId}/${action}`, { method: "POST" });
    if (action === "retry") follow(job.id); else if (!stale(job)) render(job);
    loadBalance();
    loadGallery();
  } catch (e) {
    $("jobError").textContent = e.message;
  }
}

$("form").addEventListener("submit", submit);
$("model").addEventListener("change", onModelChange);
$("outputCount").addEventListener("change", showPrice);
$("refresh").addEventListener("click", loadGallery);
$("cancel").addEventListener("click", () => jobAction("cancel"));
$("retry").addEventListener("click", () => jobAction("retry"));
$("older").addEventListener("click", () => {
  if (!state.nextCursor) return;
  state.cursors[++state.page] = state.nextCursor;
  loadGallery();
});
$("newer").addEventListener("click", () => {
  if (state.page === 0) return;
  state.page--;
  loadGallery();
});
$("gallery").addEventListener("click", (e) => {
  const li = e.target.closest("li[data-id]");
  if (li) follow(li.dataset.id);
});
$("apiKey").value = localStorage.getItem("mediagen.apiKey") || "";
$("apiKey").addEventListener("change", () => {
  localStorage.setItem("mediagen.apiKey", apiKey());
  init();
});

async function init() {
  try { await loadModels(); } catch (e) { $("formError").textContent = e.message; }
  loadBalance();
  firstPage();
  // A link such as /#job={id} opens that job.
  const match = /^#job=([0-9a-f]{32})$/.exec(location.hash);
  if (match && state.jobId !== match[1]) follow(match[1]);
}
init();
