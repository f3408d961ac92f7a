// Drives the job console (src/main/resources/META-INF/resources) in headless Chromium; ConsoleIT runs it
// against a real worker. Exits non-zero, saying why, when the page does not behave.
//
//   node src/test/browser/console.spec.mjs <base url> <api key> <model> <steps> [screenshot.png]
//
// The browser is the system's Chromium (Debian package `chromium`; CHROMIUM overrides the path):
// playwright-core downloads no browser of its own.
import { chromium } from 'playwright-core';

const [base, apiKey, model, steps, screenshot] = process.argv.slice(2);
if (!base || !apiKey || !model || !steps) {
  console.error('usage: console.spec.mjs <base url> <api key> <model> <steps> [screenshot.png]');
  process.exit(2);
}
const TIMEOUT = 90_000;

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log('ok - ' + message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // CI runs as root, where Chromium's sandbox cannot start.
  args: ['--no-sandbox'],
});
const pageErrors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => console.log(`[browser ${m.type()}] ${m.text()}`));

  // 1. Without a key: the page loads (no /v1 credential needed for it) and asks for one.
  const response = await page.goto(base);
  check(response.status() === 200, `GET / serves the page (HTTP ${response.status()})`);
  await page.locator('#banner', { hasText: 'API key' }).waitFor();
  check(true, 'the page asks for an API key');

  // A wrong key: the API's 401 shows in the banner.
  await page.fill('#api-key', 'easel_not-a-key');
  await page.click('#key-form button');
  await page.locator('#banner', { hasText: 'HTTP 401' }).waitFor();
  check(true, 'a wrong key is reported in the banner (HTTP 401)');

  // 2. The key loads the models; the selected model's defaults fill the form. The first answer
  // says every model is still loading (a worker just scaled up from zero): the page lists them
  // disabled and reads the list again until they have loaded.
  let modelLists = 0;
  await page.route('**/v1/models', async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    if (modelLists++ === 0) body.models = body.models.map((m) => ({ name: m.name, state: 'loading' }));
    return route.fulfill({ response, json: body });
  });
  await page.fill('#api-key', apiKey);
  await page.click('#key-form button');
  await page.locator(`#model option[value="${model}"][disabled]`).waitFor({ state: 'attached' });
  check(true, 'a model still loading is listed, disabled');
  await page.locator(`#model option[value="${model}"]:not([disabled])`).waitFor({ state: 'attached' });
  check(modelLists >= 2, `the list was read again until the model had loaded (${modelLists} reads)`);
  await page.unroute('**/v1/models');
  await page.selectOption('#model', model);
  const width = await page.inputValue('#width');
  check(Number(width) > 0, `model ${model}'s default width fills the form (${width})`);
  const schedulers = await page.locator('#scheduler option').count();
  check(schedulers > 0, `the scheduler list offers the model's schedulers (${schedulers})`);
  check(await page.evaluate(() => localStorage.getItem('easel.apiKey')) === apiKey, 'the key is kept in localStorage');

  // 3. A job: progress and previews from the event stream, then its picture.
  check(await page.isChecked('#previews'), 'previews are on by default');
  await page.fill('#prompt', 'a big red circle on a blue background');
  await page.fill('#steps', steps);
  await page.fill('#seed', '42');
  await page.click('#submit');
  await page.locator('#job-status[data-status="completed"]').waitFor();
  const events = await page.locator('#events li').allTextContents();
  console.log('events: ' + events.join(' | '));
  check(events.some((e) => e.startsWith('progress: step')), 'progress events reached the page');
  const progress = await page.$eval('#progress', (p) => [p.value, p.max]);
  check(progress[0] === progress[1] && progress[1] > 1, `the progress bar is full (${progress[0]} of ${progress[1]})`);
  await page.waitForFunction(() => {
    const img = document.querySelector('#images img');
    return img && img.complete && img.naturalWidth > 0;
  });
  const size = await page.$eval('#images img', (img) => img.naturalWidth + '×' + img.naturalHeight);
  check(true, `the picture loaded (${size})`);
  const caption = await page.textContent('#images figcaption');
  check(caption.includes('seed 42'), `the caption names the seed (${caption})`);
  // Previews come while it denoises; the page counts them, so when one showed does not matter.
  const received = Number(await page.getAttribute('#preview', 'data-received'));
  check(received >= 1, `preview pictures reached the page (${received})`);
  check(events.some((e) => e.startsWith('preview: step')), 'previews are in the event log');
  await page.waitForFunction(() => Number(document.querySelector('#preview').dataset.loaded) >= 1);
  const previewSize = await page.$eval('#preview', (img) => img.naturalWidth + '×' + img.naturalHeight);
  check(true, `a preview picture loaded (${previewSize})`);
  check(await page.locator('#preview').isHidden(), 'the final picture replaced the preview');
  const recent = await page.locator('#recent li').first().textContent();
  check(recent.includes('completed'), `recent jobs list the job as completed (${recent})`);
  if (screenshot) {
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log('screenshot: ' + screenshot);
  }

  // 4. A bad width: the server's violation appears beside the width field, nothing in the banner.
  await page.fill('#width', '100');
  await page.click('#submit');
  const widthError = page.locator('.error[data-for="width"]');
  await widthError.filter({ hasText: /./ }).waitFor();
  check(true, `the width's violation shows beside it: "${await widthError.textContent()}"`);
  check(await page.locator('#width.invalid').count() === 1, 'the width field is marked invalid');
  check(await page.locator('#banner').isHidden(), 'no banner for a violation of a form field');
  check(await page.locator('.error[data-for="height"]').textContent() === '', 'other fields show no error');

  // Opening a job (here the one shown, from the recent list: no hashchange) reads it again and
  // clears the errors of what was on screen before.
  await page.locator('#recent li a').first().click();
  await page.waitForFunction(() => document.querySelector('.error[data-for="width"]').textContent === '');
  check(await page.locator('#width.invalid').count() === 0, 'opening a job clears the form\'s earlier errors');
  await page.locator('#job-status[data-status="completed"]').waitFor();

  // 5. With event streams off on the server (its 503), the page still reaches the answer: it reads
  // the job's status until it is final. The route stands in for a server started with
  // easel.sse.enabled=false; the job itself runs on the real worker.
  const firstJob = await page.textContent('#job-id');
  await page.route('**/v1/jobs/*/events', (route) => route.fulfill({
    status: 503, contentType: 'application/json',
    body: JSON.stringify({ error: 'unavailable', reason: 'job event streams are off on this server (easel.sse.enabled=false)' }),
  }));
  let statusReads = 0;
  page.on('request', (r) => { if (/\/v1\/jobs\/[^/]+$/.test(new URL(r.url()).pathname)) statusReads++; });
  await page.fill('#width', width);
  await page.fill('#seed', '43');
  await page.click('#submit');
  await page.waitForFunction((before) => {
    const id = document.querySelector('#job-id').textContent;
    return id && id !== before && id !== '…';
  }, firstJob);
  await page.locator('#job-status[data-status="completed"]').waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector('#images img');
    return img && img.complete && img.naturalWidth > 0;
  });
  const polled = await page.locator('#events li').allTextContents();
  check(polled.some((e) => e.includes('HTTP 503')) && !polled.some((e) => e.startsWith('progress')),
    `without its event stream the job's picture still came, by reading its status (${polled.join(' | ')})`);
  // The job runs for seconds: its first read finds it queued or running, a later one completed.
  check(statusReads >= 2, `its status was read until it was final (${statusReads} reads)`);
  await page.unroute('**/v1/jobs/*/events');

  // 6. The answer to a submission is lost after the server queued the job: Generate again sends the
  // same job under the same id (an idempotent re-post), not a second job.
  const postedIds = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/v1/jobs') postedIds.push(JSON.parse(r.postData()).id);
  });
  await page.route('**/v1/jobs', async (route) => {
    if (route.request().method() !== 'POST') return route.fallback();
    await route.fetch(); // the worker queues it…
    return route.abort('connectionreset'); // …and its answer never reaches the page
  });
  await page.fill('#seed', '44');
  await page.click('#submit');
  await page.locator('#banner', { hasText: 'Could not reach the worker' }).waitFor();
  await page.unroute('**/v1/jobs');
  await page.click('#submit');
  await page.waitForFunction((id) => document.querySelector('#job-id').textContent === id, postedIds[0]);
  await page.locator('#job-status[data-status="completed"]').waitFor();
  check(postedIds.length === 2 && postedIds[0] === postedIds[1] && postedIds[0].startsWith('console-'),
    `the re-sent submission kept its job id (${postedIds.join(', ')})`);
  const entries = await page.evaluate((id) => Object.keys(localStorage).filter((k) => k.startsWith('easel.recentJobs.'))
    .flatMap((k) => JSON.parse(localStorage.getItem(k))).filter((j) => j.id === id).length, postedIds[0]);
  check(entries === 1, `recent jobs list it once (${entries})`);

  // 7. A stream that goes silent (a laptop that slept): after the idle limit the page reads the
  // job's status instead. The route holds the stream open without a byte; the limit is shortened.
  await page.evaluate(() => { window.easelStreamIdleMs = 1500; });
  await page.route('**/v1/jobs/*/events', () => { /* never answered */ });
  const beforeStall = await page.textContent('#job-id');
  await page.fill('#seed', '45');
  await page.click('#submit');
  await page.waitForFunction((before) => document.querySelector('#job-id').textContent !== before, beforeStall);
  await page.locator('#job-status[data-status="completed"]').waitFor();
  const stalled = await page.locator('#events li').allTextContents();
  check(stalled.some((e) => e.includes('no data for 1.5 s')),
    `a silent stream is given up and the job still reaches its answer (${stalled.join(' | ')})`);
  await page.unroute('**/v1/jobs/*/events');
  const shownJob = await page.textContent('#job-id');

  // 8. Another key's browser shows only that key's recent jobs.
  await page.fill('#api-key', 'easel_not-a-key');
  await page.click('#key-form button');
  await page.locator('#banner', { hasText: 'HTTP 401' }).waitFor();
  check(await page.locator('#recent li').count() === 0, 'another key sees none of these recent jobs');
  await page.fill('#api-key', apiKey);
  await page.click('#key-form button');
  await page.locator('#recent li').first().waitFor();
  check(true, 'the key\'s own recent jobs come back with it');

  // 9. A link to a job opened in a fresh browser: once a key is given, the job shows.
  const fresh = await browser.newContext();
  try {
    const other = await fresh.newPage();
    other.on('pageerror', (e) => pageErrors.push(e.message));
    await other.goto(`${base}#job=${encodeURIComponent(shownJob)}`);
    await other.locator('#banner', { hasText: 'API key' }).waitFor();
    await other.fill('#api-key', apiKey);
    await other.click('#key-form button');
    await other.locator('#job-status[data-status="completed"]').waitFor();
    check(await other.textContent('#job-id') === shownJob, `a #job= link opens its job once the key is given (${shownJob})`);
  } finally {
    await fresh.close();
  }

  check(pageErrors.length === 0, `no script errors on the page ${JSON.stringify(pageErrors)}`);
  console.log('console.spec: all checks passed');
} catch (e) {
  console.error('console.spec FAILED: ' + e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
