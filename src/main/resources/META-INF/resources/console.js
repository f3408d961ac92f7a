// Easel job console: plain JS against the worker's own HTTP API (docs/job-contract.md, docs/events.md).
// The form's input ids are the job's field names, so a 400's violations land beside their field.
'use strict';

const KEY_STORE = 'easel.apiKey';
const RECENT_STORE = 'easel.recentJobs'; // + '.' and a hash of the key: each key its own list
const RECENT_MAX = 20;
const FINAL = ['completed', 'failed', 'cancelled'];
const NUMBER_FIELDS = ['width', 'height', 'steps', 'guidanceScale', 'seed', 'numImages'];

const $ = (id) => document.getElementById(id);
let models = [];
let watching = null; // the AbortController of the event stream being read
let unanswered = null; // {body, id} of a submission whose answer never came: sent again with the same id
// The server sends a heartbeat every 15 s; a stream silent for longer than this is dead (a laptop
// that slept, a network that changed) and the page reads the job's status instead.
const streamIdleMs = () => window.easelStreamIdleMs || 45_000;

// --- HTTP ---

async function api(path, options = {}) {
  const headers = { 'X-API-Key': localStorage.getItem(KEY_STORE) || '', ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { error: text }; }
  return { status: response.status, ok: response.ok, body };
}

function describe(result) {
  const b = result.body || {};
  return `HTTP ${result.status}: ${[b.error, b.reason].filter(Boolean).join(' — ') || 'request failed'}`;
}

// --- Messages ---

function banner(message) {
  $('banner').textContent = message || '';
  $('banner').hidden = !message;
}

function clearErrors() {
  banner('');
  document.querySelectorAll('.error').forEach((e) => { e.textContent = ''; });
  document.querySelectorAll('.invalid').forEach((e) => e.classList.remove('invalid'));
}

/** Each violation beside the field it names; those naming no field of the form go to the banner. */
function showViolations(violations) {
  const elsewhere = [];
  for (const v of violations) {
    const text = v.problem + (v.limit ? ` (${v.limit})` : '');
    const slot = document.querySelector(`.error[data-for="${CSS.escape(v.field)}"]`);
    if (slot) {
      slot.textContent = text;
      $(v.field).classList.add('invalid');
    } else {
      elsewhere.push(`${v.field}: ${text}`);
    }
  }
  banner(elsewhere.length ? 'The job was refused: ' + elsewhere.join('; ') : '');
}

// --- Models and the form ---

/**
 * While some model is still loading (a worker just scaled up from zero), reads the list again every
 * few seconds and enables each model as it loads, keeping what the user chose and typed.
 */
let refreshing = null;
function refreshWhileLoading() {
  clearTimeout(refreshing);
  if (!models.some((m) => m.state === 'loading')) return;
  refreshing = setTimeout(async () => {
    let result;
    try { result = await api('/v1/models'); } catch { result = null; }
    if (result && result.ok) {
      const hadChoice = models.some((m) => m.name === $('model').value && m.state === 'loaded');
      models = result.body.models || [];
      for (const option of $('model').options) {
        const m = models.find((x) => x.name === option.value);
        if (m) { option.textContent = modelLabel(m); option.disabled = m.state !== 'loaded'; }
      }
      $('key-state').textContent = `${models.length} model(s)`;
      const firstLoaded = models.find((m) => m.state === 'loaded');
      if (!hadChoice && firstLoaded) { $('model').value = firstLoaded.name; applyDefaults({ keepTyped: true }); }
    }
    refreshWhileLoading();
  }, 3000);
}

function modelLabel(m) {
  return `${m.name} (${[m.kind, m.state].filter(Boolean).join(', ')})`;
}

/** Fills the model list; true when the worker listed its models. */
async function loadModels() {
  $('key-state').textContent = 'loading models…';
  let result;
  try {
    result = await api('/v1/models');
  } catch (e) {
    $('key-state').textContent = '';
    banner('Could not reach the worker: ' + e.message);
    return false;
  }
  if (!result.ok) {
    $('key-state').textContent = '';
    clearTimeout(refreshing); // another key's list is not this one's to refresh
    models = [];
    const noKey = !localStorage.getItem(KEY_STORE);
    banner(result.status === 401 && noKey ? 'Enter an API key to start (deployment/run-local.sh prints one).'
      : result.status === 401 || result.status === 403
        ? `Enter a valid API key (${describe(result)})` : `Could not load models (${describe(result)})`);
    return false;
  }
  banner('');
  models = result.body.models || [];
  $('key-state').textContent = `${models.length} model(s)`;
  const select = $('model');
  select.replaceChildren(...models.map((m) => {
    const option = new Option(modelLabel(m), m.name);
    option.disabled = m.state !== 'loaded';
    return option;
  }));
  const firstLoaded = models.find((m) => m.state === 'loaded');
  if (firstLoaded) select.value = firstLoaded.name;
  applyDefaults();
  renderRecent();
  refreshWhileLoading();
  return true;
}

/** The selected model's defaults and schedulers fill the form (with keepTyped, only its empty fields). */
function applyDefaults({ keepTyped = false } = {}) {
  const model = models.find((m) => m.name === $('model').value);
  if (!model) return;
  const d = model.defaults || {};
  const fill = (id, value) => { if (!keepTyped || $(id).value === '') $(id).value = value ?? ''; };
  fill('width', d.width);
  fill('height', d.height);
  fill('steps', d.steps);
  fill('guidanceScale', d.guidanceScale);
  const limits = model.limits || {};
  if (limits.sizeMultiple) { $('width').step = limits.sizeMultiple; $('height').step = limits.sizeMultiple; }
  const schedulers = (model.capabilities && model.capabilities.schedulers) || [];
  $('scheduler').replaceChildren(...schedulers.map((s) => new Option(s, s)));
  if (d.scheduler) $('scheduler').value = d.scheduler;
}

function jobFromForm() {
  const job = { version: 1, model: $('model').value, prompt: $('prompt').value };
  if ($('negativePrompt').value) job.negativePrompt = $('negativePrompt').value;
  if ($('scheduler').value) job.scheduler = $('scheduler').value;
  for (const field of NUMBER_FIELDS) {
    const raw = $(field).value.trim();
    if (raw !== '') job[field] = Number(raw); // empty: the server's default (a random seed, say)
  }
  // About ten previews a run; the worker may space them further (easel.worker.previews.min-every).
  if ($('previews').checked) {
    job.previews = { every: Math.max(1, Math.floor((job.steps || 30) / 10)), mode: $('preview-mode').value };
  }
  return job;
}

/** A job id made here, so that a submission whose answer was lost can be sent again as the same job. */
function newJobId() {
  // crypto.randomUUID needs a secure context; a console opened over plain HTTP has getRandomValues only.
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return 'console-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function submit(event) {
  event.preventDefault();
  clearErrors();
  const job = jobFromForm();
  const body = JSON.stringify(job);
  // The same form sent again after no answer (or a 503) is the same job: re-posting it is
  // idempotent, where a new id would run it twice if the first post had been queued after all.
  job.id = unanswered && unanswered.body === body ? unanswered.id : newJobId();
  unanswered = { body, id: job.id };
  $('submit').disabled = true;
  try {
    const result = await api('/v1/jobs', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(job),
    });
    if (result.status < 500) unanswered = null;
    if (result.status === 400 && result.body && result.body.violations) {
      showViolations(result.body.violations);
    } else if (!result.ok) {
      banner(describe(result));
    } else {
      remember({ id: result.body.id, model: job.model, prompt: job.prompt, status: result.body.status });
      location.hash = 'job=' + encodeURIComponent(result.body.id);
    }
  } catch (e) {
    banner('Could not reach the worker: ' + e.message + ' (Generate again sends the same job)');
  } finally {
    $('submit').disabled = false;
  }
}

// --- One job: its events, then its images ---

function log(text) {
  const item = document.createElement('li');
  item.textContent = text;
  $('events').append(item);
}

function setStatus(id, status) {
  $('job-status').textContent = status;
  $('job-status').dataset.status = status;
  remember({ id, status });
}

async function showJob(id) {
  if (watching) watching.abort();
  const controller = new AbortController();
  watching = controller;
  clearErrors(); // another job's failure or violations do not belong to this one
  $('job').hidden = false;
  $('job-id').textContent = id;
  $('events').replaceChildren();
  $('images').replaceChildren();
  $('progress').value = 0;
  const preview = $('preview');
  preview.hidden = true;
  preview.removeAttribute('src');
  preview.dataset.received = '0'; // previews this job's stream brought (tests read it)
  preview.dataset.loaded = '0';
  setStatus(id, '…');
  try {
    await followEvents(id, controller.signal);
  } catch (e) {
    if (e.name !== 'AbortError') log('event stream: ' + e.message);
  }
  await settle(id, controller.signal);
}

/**
 * Reads the job's status until it is final. The stream may have ended before the job did: event
 * streams off on the server (503), the stream closed by it, the connection lost. A job's page then
 * still reaches its answer, a little later, instead of staying at "queued".
 */
async function settle(id, signal) {
  for (let wait = 1000; !signal.aborted; wait = Math.min(wait * 2, 5000)) {
    const status = await showResult(id, signal);
    if (status === null || FINAL.includes(status)) return;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/**
 * Reads GET /v1/jobs/{id}/events with fetch, not EventSource: EventSource cannot send the
 * X-API-Key header that every /v1 endpoint needs (and the key does not belong in a URL).
 */
async function followEvents(id, signal) {
  const stream = new AbortController(); // this stream only: the job's page goes on without it
  const stop = () => stream.abort();
  signal.addEventListener('abort', stop);
  let stalled = false;
  let idle;
  const watch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => { stalled = true; stream.abort(); }, streamIdleMs());
  };
  watch();
  try {
    const response = await fetch(`/v1/jobs/${encodeURIComponent(id)}/events`, {
      headers: { 'X-API-Key': localStorage.getItem(KEY_STORE) || '', Accept: 'text/event-stream' },
      signal: stream.signal,
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      watch(); // any bytes, heartbeats included, show the stream is alive
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (onEvent(id, parseEvent(block))) { reader.cancel(); return; }
      }
    }
  } catch (e) {
    if (stalled && !signal.aborted) throw new Error(`no data for ${streamIdleMs() / 1000} s; reading the job's status instead`);
    throw e;
  } finally {
    clearTimeout(idle);
    signal.removeEventListener('abort', stop);
  }
}

/** One server-sent event block: its `event:` name and joined `data:` lines; comments are heartbeats. */
function parseEvent(block) {
  let name = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) name = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  return { name, data: data.length ? JSON.parse(data.join('\n')) : null };
}

/** Returns true when the event is the job's last. */
function onEvent(id, { name, data }) {
  if (!data) return false;
  switch (name) {
    case 'state':
      setStatus(id, data.status);
      log('state: ' + data.status);
      return FINAL.includes(data.status);
    case 'started':
      setStatus(id, 'running');
      log('started');
      return false;
    case 'progress':
      $('progress').max = data.total;
      $('progress').value = data.step;
      log(`progress: step ${data.step} of ${data.total}`);
      return false;
    case 'preview': {
      // A presigned URL of the job's latest preview picture: shown beside the progress bar until the result.
      const preview = $('preview');
      preview.src = data.url;
      preview.title = `step ${data.step} of ${data.total} (${data.mode})`;
      preview.hidden = false;
      preview.dataset.received = String(Number(preview.dataset.received || 0) + 1);
      log(`preview: step ${data.step} of ${data.total}`);
      return false;
    }
    case 'closed':
      log('stream closed: ' + data.reason);
      return true;
    default:
      log(name);
      return FINAL.includes(name);
  }
}

/**
 * GET /v1/jobs/{id}: its status, and for a completed job its images (presigned URLs, fresh each time).
 * Returns the status; '' to ask again (the server could not tell now), null to stop (no such job,
 * no access, or another job is shown now).
 */
async function showResult(id, signal) {
  let result;
  try {
    result = await api(`/v1/jobs/${encodeURIComponent(id)}`);
  } catch (e) {
    log('status: ' + e.message);
    return '';
  }
  if (signal && signal.aborted) return null;
  if (!result.ok) {
    banner(`Job ${id}: ${describe(result)}`);
    $('banner').dataset.from = 'status';
    return result.status >= 500 ? '' : null;
  }
  if ($('banner').dataset.from === 'status') { // a passing fault of an earlier read, over now
    banner('');
    delete $('banner').dataset.from;
  }
  const view = result.body;
  setStatus(id, view.status);
  if (view.status === 'completed') {
    $('progress').value = $('progress').max;
    $('preview').hidden = true; // the pictures themselves replace it
    $('images').replaceChildren(...view.images.map((image) => figure(image, view)));
  } else if (view.status === 'failed' || view.status === 'cancelled') {
    if (view.violations) showViolations(view.violations); // beside their fields; then the reason above all
    banner(`Job ${id} ${view.status}: ${view.reason || ''}`);
  }
  return view.status;
}

function figure(image, view) {
  const job = recent().find((j) => j.id === view.id) || {};
  const link = document.createElement('a');
  link.href = image.url;
  link.target = '_blank';
  link.rel = 'noopener';
  const img = document.createElement('img');
  img.src = image.url;
  img.alt = job.prompt || image.objectKey;
  link.append(img);
  const caption = document.createElement('figcaption');
  const params = job.params ? Object.entries(job.params).map(([k, v]) => `${k} ${v}`).join(', ') : '';
  caption.textContent = `seed ${image.seed} · ${view.model}${params ? ' · ' + params : ''}`;
  const open = document.createElement('a');
  open.href = image.url;
  open.target = '_blank';
  open.rel = 'noopener';
  open.textContent = image.objectKey;
  caption.append(document.createElement('br'), open);
  const fig = document.createElement('figure');
  fig.append(link, caption);
  return fig;
}

// --- Recent jobs of this browser ---

/** This key's list: a browser shared by two keys (two tenants) shows each only its own jobs. */
function recentStore() {
  const key = localStorage.getItem(KEY_STORE) || '';
  let hash = 0x811c9dc5; // FNV-1a: a name for the list, not a secret (the key itself is stored beside it)
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return `${RECENT_STORE}.${hash.toString(16)}`;
}

function recent() {
  const store = recentStore();
  // The one list of earlier versions becomes the first key's that reads it, not lost.
  const legacy = localStorage.getItem(RECENT_STORE);
  if (legacy !== null && localStorage.getItem(store) === null && localStorage.getItem(KEY_STORE)) {
    localStorage.setItem(store, legacy);
    localStorage.removeItem(RECENT_STORE);
  }
  try { return JSON.parse(localStorage.getItem(store)) || []; } catch { return []; }
}

/** Adds or updates a job in the list, newest first. */
function remember(entry) {
  const jobs = recent();
  const known = jobs.find((j) => j.id === entry.id);
  if (known) Object.assign(known, entry);
  else if (entry.model) jobs.unshift({ ...entry, params: paramsOf(jobFromForm()), at: new Date().toISOString() });
  else return;
  localStorage.setItem(recentStore(), JSON.stringify(jobs.slice(0, RECENT_MAX)));
  renderRecent();
}

/** What the form asked for; fields left to the server's defaults are left out. */
function paramsOf(job) {
  const { width, height, steps, guidanceScale, scheduler } = job;
  const params = { size: width && height ? `${width}×${height}` : undefined, steps, guidance: guidanceScale, scheduler };
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined && v !== ''));
}

function renderRecent() {
  $('recent').replaceChildren(...recent().map((job) => {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = '#job=' + encodeURIComponent(job.id);
    // The job shown already: no hashchange, yet a click reads it again (fresh image links, cleared errors).
    link.addEventListener('click', () => { if (location.hash === link.getAttribute('href')) route(); });
    link.textContent = job.prompt || job.id;
    const status = document.createElement('span');
    status.className = 'status';
    status.dataset.status = job.status;
    status.textContent = job.status;
    item.append(status, ' ', link, ` — ${job.model}, ${new Date(job.at).toLocaleString()}`);
    return item;
  }));
}

// --- Wiring ---

function route() {
  const match = location.hash.match(/^#job=(.+)$/);
  if (match) showJob(decodeURIComponent(match[1]));
}

document.addEventListener('DOMContentLoaded', () => {
  $('api-key').value = localStorage.getItem(KEY_STORE) || '';
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    localStorage.setItem(KEY_STORE, $('api-key').value.trim());
    renderRecent(); // this key's jobs, whether or not the key is good
    loadModels().then((ok) => { if (ok) route(); });
  });
  $('model').addEventListener('change', applyDefaults);
  $('job-form').addEventListener('submit', submit);
  $('preview').addEventListener('load', (event) => {
    event.target.dataset.loaded = String(Number(event.target.dataset.loaded || 0) + 1);
  });
  window.addEventListener('hashchange', route);
  renderRecent();
  // Without a stored key too: a worker with authentication off lists its models to anyone.
  loadModels().then((ok) => { if (ok) route(); });
});
