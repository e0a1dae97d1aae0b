// The sample page: submit a prompt, follow the job over server-sent events, show the images. No build step.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { models: [], source: null, jobId: null };

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
  const fields = problem.errors ? Object.entries(problem.errors).map(([k, v]) => `${k}: ${v.join(" ")}`).join("\n") : "";
  return [problem.title, fields || problem.detail].filter(Boolean).join("\n");
}

async function loadModels() {
  state.models = await api("/api/v1/models");
  $("model").innerHTML = state.models.map((m) => `<option value="${m.id}">${escapeHtml(m.displayName)} — ${m.costCredits} credit${m.costCredits === 1 ? "" : "s"} per image</option>`).join("");
  onModelChange();
}

function onModelChange() {
  const model = state.models.find((m) => m.id === $("model").value);
  if (!model) return;
  const ratios = model.settings.aspectRatios || [];
  $("aspectRatio").innerHTML = ratios.length ? ratios.map((r) => `<option>${r}</option>`).join("") : "<option value=''>default</option>";
  const counts = [];
  for (let i = 1; i <= model.settings.maxOutputs; i++) counts.push(`<option>${i}</option>`);
  $("outputCount").innerHTML = counts.join("");
  $("modelInfo").textContent = `About ${model.expectedSeconds.toFixed(1)} s per job.`;
}

async function loadBalance() {
  try {
    const credits = await api("/api/v1/credits");
    $("balance").textContent = `${credits.balance} (${credits.ownerId})`;
  } catch (e) {
    $("balance").textContent = e.status === 401 ? "API key needed" : "?";
  }
}

async function loadJobs() {
  try {
    const page = await api("/api/v1/generations?limit=10");
    $("jobs").innerHTML = page.items.map((job) => {
      const thumb = job.outputs[0] ? `<img src="${job.outputs[0].url}" alt="">` : "<img alt=\"\">";
      return `<li data-id="${job.id}">${thumb}<span class="prompt">${escapeHtml(job.prompt)}</span><span class="status ${job.status}">${job.status}${job.cacheHit ? " (cached)" : ""}</span></li>`;
    }).join("") || "<li class='hint'>No jobs yet.</li>";
  } catch (e) {
    $("jobs").innerHTML = `<li class="error">${escapeHtml(e.message)}</li>`;
  }
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
    loadJobs();
  } catch (e) {
    $("formError").textContent = e.message;
  } finally {
    $("submit").disabled = false;
  }
}

function follow(jobId) {
  if (state.source) state.source.close();
  state.jobId = jobId;
  history.replaceState(null, "", `#job=${jobId}`);
  $("jobId").textContent = jobId;
  $("images").innerHTML = "";
  $("jobError").textContent = "";
  $("log").innerHTML = "";
  const query = apiKey() ? `?apiKey=${encodeURIComponent(apiKey())}` : "";
  const source = new EventSource(`/api/v1/generations/${jobId}/events${query}`);
  state.source = source;
  source.addEventListener("job", (e) => {
    const job = JSON.parse(e.data);
    render(job);
    if (["succeeded", "failed", "canceled"].includes(job.status)) {
      source.close();
      loadBalance();
      loadJobs();
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
  source.onerror = () => { if (source.readyState === EventSource.CLOSED) log("stream closed"); };
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

function addImage(output) {
  const id = `out-${output.index}`;
  if (document.getElementById(id)) return;
  const img = document.createElement("img");
  img.id = id;
  img.src = output.url;
  img.alt = `output ${output.index}`;
  img.title = `${output.width}×${output.height}, ${output.size} bytes`;
  $("images").appendChild(img);
}

function setStatus(status) {
  $("status").textContent = status;
  $("status").className = `status ${status}`;
  $("cancel").disabled = !["pending", "processing"].includes(status);
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

$("form").addEventListener("submit", submit);
$("model").addEventListener("change", onModelChange);
$("refresh").addEventListener("click", loadJobs);
$("cancel").addEventListener("click", async () => {
  if (!state.jobId) return;
  try { render(await api(`/api/v1/generations/${state.jobId}/cancel`, { method: "POST" })); } catch (e) { $("jobError").textContent = e.message; }
});
$("jobs").addEventListener("click", (e) => {
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
  loadJobs();
  // A link such as /#job={id} opens that job.
  const match = /^#job=([0-9a-f]{32})$/.exec(location.hash);
  if (match && state.jobId !== match[1]) follow(match[1]);
}
init();
