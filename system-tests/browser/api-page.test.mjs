// docs/api.html in a real browser (Debian's Chromium, driven by
// playwright-core; never a downloaded browser) against the local stack:
// the page is opened from file:// so every call is cross-origin, as for a
// user who opens the file from disk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { mkdirSync, existsSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const DEV_KEY = 'img_test_dev_123456789';
// Seeded by --seed-samples, QUEUED and never queued: the first test cancels
// the first of these; the second stays QUEUED for the long poll that times out.
const QUEUED_SAMPLE_JOB = 'cmkuz35wf00034rk15ycgzvcf';
const NEVER_RUN_SAMPLE_JOB = 'cmkuz35wf00034rk15ycgzvce';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// The dev tenant gets a webhook URL and secret (DEV_WEBHOOK_URL/SECRET), so
// per-job webhookUrls are accepted; both point at `receiver` below.
const DEV_WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

// A real PNG of `width`×`height` RGB pixels (a diagonal gradient), made
// here so the test needs no image file: what a user would pick from disk.
function makePng(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (bytes) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, tail]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3); // filter byte 0, then pixels
    for (let x = 0; x < width; x++) row.set([(x * 4) & 0xff, (y * 4) & 0xff, ((x + y) * 2) & 0xff], 1 + x * 3);
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

let server;
let browser;
let base;
let receiver;
let hooksBase;
const hooks = []; // every webhook request: { path, id, event }

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

// A webhook receiver on loopback that answers 204 to every POST.
function startReceiver() {
  return new Promise((ok, fail) => {
    const s = createHttpServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => {
        let event = null;
        try { event = JSON.parse(body); } catch { /* recorded as null */ }
        hooks.push({ path: req.url, id: req.headers['webhook-id'], event });
        res.writeHead(204).end();
      });
    });
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => ok(s));
  });
}

async function until(what, check, deadlineMs = 30_000) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function waitForHealth(url, deadlineMs) {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the local stack did not answer on ${url}`);
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const bin = join(root, 'target', 'debug', 'dev-server');
  assert.ok(existsSync(bin), `build it first: cargo build -p devstack --bin dev-server (${bin})`);
  receiver = await startReceiver();
  hooksBase = `http://127.0.0.1:${receiver.address().port}`;
  server = spawn(bin, ['--seed-samples'], {
    env: {
      ...process.env, PORT: String(port), RUST_LOG: 'warn',
      DEV_WEBHOOK_URL: `${hooksBase}/tenant`, DEV_WEBHOOK_SECRET,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForHealth(base, 60_000);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  await new Promise((r) => (receiver ? receiver.close(r) : r()));
});

const statusOf = (page, card) => page.locator(`#out-${card} .status-line`).first();

// What the card's response-header table shows for `name` (lower case), or null.
const headerShown = (page, card, name) => page.locator(`#out-${card} table.headers tr`).evaluateAll(
  (rows, wanted) => rows.map((r) => [...r.cells].map((c) => c.textContent)).find(([k]) => k === wanted)?.[1] ?? null,
  name,
);

// The elapsed milliseconds the card's status line shows ("200 OK  ·  1012 ms").
async function msShown(page, card) {
  const line = await statusOf(page, card).textContent();
  return Number(/(\d+) ms$/.exec(line.trim())[1]);
}

// docs/api.html from file://, pointed at the stack with the dev key; `errors`
// collects the page's script errors.
async function openPage() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(join(root, 'docs', 'api.html')).href);
  await page.fill('#base-url', base);
  await page.fill('#api-key', DEV_KEY);
  return { page, errors };
}

async function send(page, card, expected) {
  // Empty the output first, so an earlier answer with the same status is never read as this one.
  await page.locator(`#out-${card}`).evaluate((out) => out.replaceChildren());
  await page.click(`#send-${card}`);
  try {
    await page.waitForFunction(
      ([sel, want]) => document.querySelector(sel)?.textContent.trim().startsWith(want),
      [`#out-${card} .status-line`, String(expected)],
      { timeout: 30_000 },
    );
  } catch (e) {
    // Say what the card showed instead (another status, a network or CORS error, nothing).
    const shown = await page.locator(`#out-${card}`).innerText();
    throw new Error(`#out-${card} did not show ${expected}: ${shown.slice(0, 600) || '(nothing)'}`, { cause: e });
  }
  return page.locator(`#out-${card} pre.body`).first().textContent();
}

// Lists the job's deliveries in the card until `enough` holds for the log
// (an attempt is logged when it completes, a moment after the receiver has it).
async function deliveriesUntil(page, what, enough) {
  return until(what, async () => {
    const log = JSON.parse(await send(page, 'deliveries', 200));
    assert.ok(Array.isArray(log.items), 'the answer is {"items":[...]}');
    return enough(log) ? log : null;
  });
}

// A finished test-key job's `usage`: its images (one render each), no tokens, no cost.
const testUsage = (images) => ({ images, providerCalls: images, inputTokens: null, outputTokens: null, costUsd: 0 });

test('a user submits, watches, lists and cancels jobs, reads and redelivers webhooks, and reads usage, from docs/api.html', async () => {
  const { page, errors } = await openPage();
  assert.match(await send(page, 'health', 200), /"status": ?"ok"/);

  await page.fill('#generate-body', JSON.stringify({ prompt: 'A cute cat sitting on a couch', mode: 'draft' }, null, 2));
  // The webhookUrl input writes the field into the body that is sent.
  await page.fill('#generate-webhook-url', `${hooksBase}/job`);
  assert.equal(JSON.parse(await page.inputValue('#generate-body')).webhookUrl, `${hooksBase}/job`);
  await page.check('#generate-poll');
  const submitted = JSON.parse(await send(page, 'generate', 202));
  assert.equal(submitted.status, 'QUEUED');
  assert.equal(await page.inputValue('#deliveries-job-id'), submitted.jobId, 'the submit fills in the deliveries card');
  await page.waitForFunction(
    () => document.querySelector('#poll-status')?.textContent.includes('SUCCEEDED'),
    null,
    { timeout: 60_000 },
  );
  const img = page.locator('#card-generate img.result-image').first();
  await img.waitFor({ timeout: 30_000 });
  await page.waitForFunction(
    () => [...document.querySelectorAll('#card-generate img.result-image')].some((i) => i.complete && i.naturalWidth > 0),
    null,
    { timeout: 30_000 },
  );
  const width = await img.evaluate((i) => i.naturalWidth);
  assert.ok(width > 0, 'the result image rendered');
  // The ended job's usage, under its options.
  await page.waitForFunction(
    () => document.querySelector('#poll-usage')?.textContent.startsWith('usage:'),
    null,
    { timeout: 30_000 },
  );
  assert.equal(await page.textContent('#poll-usage'), 'usage: 1 image · 1 provider call · no tokens reported · $0.00');

  const listed = await send(page, 'list', 200);
  assert.ok(listed.includes(submitted.jobId), 'the new job is listed');
  const listedJob = JSON.parse(listed).items.find((it) => it.id === submitted.jobId);
  assert.deepEqual(listedJob.usage, testUsage(1), 'the list item has the job\'s usage');

  // Usage. A range the API refuses shows its 400 in the card's error banner.
  await page.fill('#usage-from', '2026-12-02');
  await page.fill('#usage-to', '2026-12-01');
  const reversed = JSON.parse(await send(page, 'usage', 400));
  assert.equal(reversed.error, 'INVALID_REQUEST');
  assert.match(reversed.message, /`from`/, 'the message names the parameter');
  await page.locator('#out-usage .error-banner').first().waitFor();
  assert.equal(await page.locator('#out-usage table.usage').count(), 0, 'no table for an error');

  // Both dates empty: the current UTC month so far, one table row per day.
  await page.fill('#usage-from', '');
  await page.fill('#usage-to', '');
  const month = JSON.parse(await send(page, 'usage', 200));
  assert.match(await page.textContent('#out-usage .request-line'), /\/v1\/usage$/, 'empty dates are not sent');
  assert.equal(month.livemode, false);
  assert.equal(month.from, `${month.to.slice(0, 8)}01`, 'from defaults to the first day of to\'s month');
  await page.locator('#out-usage table.usage tr.total').waitFor();
  assert.equal(await page.locator('#out-usage table.usage tbody tr.day').count(), month.days.length, 'one row per day');
  assert.match(await page.textContent('#out-usage .usage-range'), /^livemode: false/);

  // From the day the job was submitted (its usage day) to today: the job is counted.
  const submitDay = listedJob.createdAt.slice(0, 10);
  await page.fill('#usage-from', submitDay);
  const usage = JSON.parse(await send(page, 'usage', 200));
  assert.equal(usage.from, submitDay);
  await page.locator('#out-usage table.usage tr.total').waitFor();
  const table = await page.locator('#out-usage table.usage').evaluate((t) => ({
    days: [...t.querySelectorAll('tbody tr.day')].map((tr) => [...tr.cells].map((c) => c.textContent)),
    total: { images: Number(t.querySelector('tr.total').dataset.images), text: t.querySelector('tr.total').textContent },
  }));
  assert.ok(table.days.length >= 1, 'at least one day row');
  assert.equal(table.days.length, usage.days.length);
  assert.equal(table.days[0][0], submitDay, 'the first row is the first day');
  assert.ok(Number(table.days[0][2]) >= 1, 'the submit day has the draft image');
  assert.ok(table.total.images >= 1, `the total counts the job's image (${table.total.text})`);
  assert.equal(table.total.images, usage.total.images, 'the total row shows the API\'s total');
  assert.match(table.total.text, /\$0\.00 \(both modes\)$/, 'test-key images cost nothing');

  // Deliveries: the job's event went to its own webhookUrl, and the log shows it.
  const first = await until('the job\'s webhook', () =>
    hooks.find((h) => h.event?.jobId === submitted.jobId && h.event?.status === 'SUCCEEDED'));
  assert.equal(first.path, '/job', 'the per-job webhookUrl received the event');
  assert.equal(first.id, first.event.eventId, 'webhook-id is the eventId');
  const log = await deliveriesUntil(page, 'the first attempt in the log', (l) => l.items.length >= 1);
  assert.equal(log.items.length, 1);
  assert.equal(log.items[0].eventId, first.event.eventId);
  assert.equal(log.items[0].attempt, 1);
  assert.equal(log.items[0].status, 'delivered');
  assert.equal(log.items[0].httpStatus, 204);
  assert.equal(log.items[0].url, `${hooksBase}/job`);
  assert.equal(log.items[0].nextAttemptAt, null);
  await page.locator('#out-deliveries .badge.delivered').first().waitFor();

  // Redeliver the terminal job: 202 pending, the same eventId again, a second attempt logged.
  const again = JSON.parse(await send(page, 'redeliver', 202));
  assert.deepEqual(again, { eventId: first.event.eventId, status: 'pending' });
  await until('the redelivered webhook', () =>
    hooks.filter((h) => h.event?.jobId === submitted.jobId).length >= 2);
  assert.ok(hooks.filter((h) => h.event?.jobId === submitted.jobId).every((h) =>
    h.path === '/job' && h.id === first.event.eventId), 'every attempt: the job\'s URL, the same eventId');
  const relog = await deliveriesUntil(page, 'the redelivery in the log', (l) => l.items.length >= 2);
  assert.deepEqual(relog.items.map((d) => [d.attempt, d.status, d.eventId]),
    [[2, 'delivered', first.event.eventId], [1, 'delivered', first.event.eventId]], 'newest first, numbered on');

  // A job that is not terminal: no attempts, and nothing to redeliver.
  await page.fill('#deliveries-job-id', QUEUED_SAMPLE_JOB);
  assert.deepEqual(JSON.parse(await send(page, 'deliveries', 200)), { items: [] });
  const notTerminal = JSON.parse(await send(page, 'redeliver', 400));
  assert.equal(notTerminal.error, 'INVALID_STATE');
  await page.locator('#out-redeliver .error-banner').first().waitFor();

  await page.fill('#cancel-job-id', QUEUED_SAMPLE_JOB);
  const canceled = JSON.parse(await send(page, 'cancel', 200));
  assert.deepEqual(canceled, { jobId: QUEUED_SAMPLE_JOB, status: 'CANCELED' });

  mkdirSync(join(root, 'target', 'browser'), { recursive: true });
  await page.screenshot({ path: join(root, 'target', 'browser', 'api-page.png'), fullPage: true });

  await page.fill('#api-key', 'img_test_not_a_real_key_0000');
  const denied = await send(page, 'list', 401);
  assert.match(denied, /INVALID_API_KEY/);
  assert.match(await statusOf(page, 'list').textContent(), /^401/);

  // Phone width: the page still lays out without horizontal scrolling.
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal scroll at 375px (overflow ${overflow}px)`);
  await page.screenshot({ path: join(root, 'target', 'browser', 'api-page-phone.png'), fullPage: false });

  assert.deepEqual(errors, [], 'no script errors');
  await page.close();
});

test('a user waits for a result on submit and long-polls jobs, from docs/api.html', async () => {
  const { page, errors } = await openPage();

  // deadlineSeconds, like webhookUrl, is written into the body that is sent, as a JSON number.
  await page.fill('#generate-body', JSON.stringify({ prompt: 'A lighthouse at dusk', mode: 'draft' }, null, 2));
  await page.fill('#generate-deadline', '600');
  assert.equal(JSON.parse(await page.inputValue('#generate-body')).deadlineSeconds, 600);

  // "Wait for the result": Prefer: wait=25 (the default); a test-key job ends within it, so 200 and the job view.
  await page.check('#generate-wait');
  assert.equal(await page.inputValue('#generate-wait-seconds'), '25', 'the wait defaults to 25 s');
  await page.check('#generate-poll');
  const waited = JSON.parse(await send(page, 'generate', 200));
  assert.equal(waited.status, 'SUCCEEDED');
  assert.ok(waited.resultUrls.length >= 1, 'the view has the result');
  assert.equal(waited.error, null);
  assert.equal(waited.livemode, false);
  assert.deepEqual(waited.usage, testUsage(1), 'a terminal view has its usage');
  assert.equal(Date.parse(waited.deadlineAt) - Date.parse(waited.createdAt), 600_000,
    'deadlineAt is createdAt + deadlineSeconds');
  assert.equal(await headerShown(page, 'generate', 'preference-applied'), 'wait=25');
  assert.equal(await headerShown(page, 'generate', 'location'), null, 'no Location on a 200');
  assert.ok(await headerShown(page, 'generate', 'x-ratelimit-remaining'), 'the rate-limit headers as on every submit');
  assert.equal(await page.textContent('#poll-status'), 'SUCCEEDED', 'the page shows the job ended');
  await page.waitForFunction(
    () => [...document.querySelectorAll('#poll-images img.result-image')].some((i) => i.complete && i.naturalWidth > 0),
    null,
    { timeout: 30_000 },
  );
  assert.equal(await page.inputValue('#get-job-id'), waited.jobId, 'the waited submit fills in the get card');

  // Without the toggle and without auto-poll: the 1.0 answer, then a long poll that answers when the job ends.
  await page.uncheck('#generate-wait');
  await page.uncheck('#generate-poll');
  await page.fill('#generate-deadline', '');
  assert.equal('deadlineSeconds' in JSON.parse(await page.inputValue('#generate-body')), false,
    'an empty deadlineSeconds input takes the field out of the body');
  const queued = JSON.parse(await send(page, 'generate', 202));
  assert.deepEqual(Object.keys(queued).sort(), ['jobId', 'status'], 'no wait: {jobId, status}');
  assert.equal(await headerShown(page, 'generate', 'preference-applied'), null);
  assert.equal(await page.inputValue('#get-job-id'), queued.jobId);
  await page.check('#get-long-poll');
  assert.equal(await page.inputValue('#get-wait'), '25', 'the long poll defaults to 25 s');
  const polled = JSON.parse(await send(page, 'get', 200));
  assert.equal(polled.jobId, queued.jobId);
  assert.equal(polled.status, 'SUCCEEDED', 'the long poll answered with the ended job');
  assert.equal(polled.deadlineAt, null, 'no deadlineSeconds, no deadline');
  assert.deepEqual(polled.usage, testUsage(1));
  assert.match(await page.textContent('#out-get .usage-meta'), /^usage: 1 image · 1 provider call · /);
  assert.match(await page.textContent('#out-get .request-line'), /\?wait=25$/);
  assert.equal(await headerShown(page, 'get', 'preference-applied'), null, 'no Preference-Applied on a GET');
  await page.locator('#out-get .badge.SUCCEEDED').first().waitFor();

  // A job that does not end: after N seconds, 200 with its current state.
  await page.fill('#get-job-id', NEVER_RUN_SAMPLE_JOB);
  await page.fill('#get-wait', '1');
  const still = JSON.parse(await send(page, 'get', 200));
  assert.equal(still.jobId, NEVER_RUN_SAMPLE_JOB);
  assert.equal(still.status, 'QUEUED', 'the current state when the wait is over');
  assert.equal(still.usage, null, 'no usage before the job is terminal');
  assert.equal(await page.locator('#out-get .usage-meta').textContent(), '', 'and the page shows none');
  assert.ok(await msShown(page, 'get') >= 900, 'the answer waited about the second asked for');

  // A wait out of range is the API's 400, shown as such.
  await page.fill('#get-wait', '0');
  const bad = JSON.parse(await send(page, 'get', 400));
  assert.equal(bad.error, 'INVALID_REQUEST');
  assert.match(bad.message, /`wait`/, 'the message names the parameter');
  await page.locator('#out-get .error-banner').first().waitFor();

  assert.deepEqual(errors, [], 'no script errors');
  await page.close();
});

test('a user picks an image file and gets two JPEG results shown with their sizes, from docs/api.html', async () => {
  const { page, errors } = await openPage();
  const png = makePng(64, 48);

  await page.fill('#generate-body', JSON.stringify({ prompt: 'The same picture, as a pencil sketch', mode: 'draft' }, null, 2));
  // outputQuality is only for jpeg and webp: disabled (and never sent) with png.
  assert.equal(await page.isDisabled('#generate-output-quality'), true, 'outputQuality is disabled for png');

  // The file picker reads the file as a data: URL into the body (one image: inputImageUrl).
  await page.setInputFiles('#generate-files', { name: 'sketch-me.png', mimeType: 'image/png', buffer: png });
  const dataUrl = `data:image/png;base64,${png.toString('base64')}`;
  await page.waitForFunction(
    (want) => { try { return JSON.parse(document.querySelector('#generate-body').value).inputImageUrl === want; } catch { return false; } },
    dataUrl,
    { timeout: 30_000 },
  );
  assert.match(await page.textContent('#generate-inputs-hint'), /sketch-me\.png/, 'the picked file is named');

  await page.fill('#generate-number-of-images', '2');
  await page.selectOption('#generate-output-format', 'jpeg');
  assert.equal(await page.isDisabled('#generate-output-quality'), false, 'outputQuality is enabled for jpeg');
  const body = JSON.parse(await page.inputValue('#generate-body'));
  assert.deepEqual(body, {
    prompt: 'The same picture, as a pencil sketch', mode: 'draft',
    inputImageUrl: dataUrl, numberOfImages: 2, outputFormat: 'jpeg',
  }, 'the controls wrote exactly these fields (no outputQuality: 90 by default)');

  await page.uncheck('#generate-wait');
  await page.check('#generate-poll');
  const submitted = JSON.parse(await send(page, 'generate', 202));
  assert.equal(submitted.status, 'QUEUED');

  // The page polls the job; two images of a 1K draft take longer than one.
  await page.waitForFunction(
    () => /SUCCEEDED|FAILED|CANCELED/.test(document.querySelector('#poll-status')?.textContent ?? ''),
    null,
    { timeout: 120_000 },
  );
  assert.equal(await page.textContent('#poll-status'), 'SUCCEEDED',
    `the job succeeded (${await page.locator('#poll-error').innerText()})`);
  await page.waitForFunction(
    () => {
      const shown = [...document.querySelectorAll('#poll-images figure img.result-image')];
      return shown.length === 2 && shown.every((i) => i.complete && i.naturalWidth > 0);
    },
    null,
    { timeout: 30_000 },
  );
  const shown = await page.locator('#poll-images figure').evaluateAll((figures) => figures.map((f) => ({
    contentType: f.dataset.contentType, width: Number(f.dataset.width), height: Number(f.dataset.height),
    bytes: Number(f.dataset.bytes), naturalWidth: f.querySelector('img').naturalWidth,
    naturalHeight: f.querySelector('img').naturalHeight, src: f.querySelector('img').src,
    caption: f.querySelector('figcaption').textContent,
  })));
  assert.equal(shown.length, 2, 'two result images displayed');
  for (const [i, image] of shown.entries()) {
    assert.equal(image.contentType, 'image/jpeg', `image ${i + 1} is a JPEG`);
    assert.equal(image.naturalWidth, image.width, `image ${i + 1} is as wide as the view says`);
    assert.equal(image.naturalHeight, image.height, `image ${i + 1} is as high as the view says`);
    assert.equal(Math.max(image.width, image.height), 1024, 'a draft is 1K: 1,024 px on the long side');
    assert.ok(image.bytes > 0);
    assert.match(image.caption, new RegExp(`${image.width}×${image.height} · image/jpeg · `), 'the caption says size and type');
    // The stored object really is a JPEG, served as one.
    const res = await fetch(image.src);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff], 'JPEG magic bytes');
    assert.equal(bytes.length, image.bytes, 'bytes is the stored size');
  }
  assert.notEqual(shown[0].src, shown[1].src, 'two distinct objects');
  assert.match(await page.textContent('#poll-request'), /2 × jpeg \(quality 90\) · 1 input image/);

  // The job view has the same, and its request shows the options as accepted.
  assert.equal(await page.inputValue('#get-job-id'), submitted.jobId);
  await page.uncheck('#get-long-poll');
  const job = JSON.parse(await send(page, 'get', 200));
  assert.equal(job.images.length, 2);
  assert.deepEqual(job.images.map((i) => i.url), job.resultUrls, 'images in resultUrls order');
  assert.deepEqual(job.request, {
    mode: 'draft', aspectRatio: '1:1', imageSize: '1K', numberOfImages: 2, outputFormat: 'jpeg',
    outputQuality: 90, deadlineSeconds: null, inputImages: 1,
  });
  assert.equal(await page.locator('#out-get figure[data-content-type="image/jpeg"]').count(), 2);
  assert.deepEqual(job.usage, testUsage(2), 'two images, one render each');
  assert.match(await page.textContent('#poll-usage'), /^usage: 2 images · 2 provider calls · /);

  // Listed with both images, and the uploaded input only as its type.
  const item = await until('the job in the listing', async () =>
    JSON.parse(await send(page, 'list', 200)).items.find((it) => it.id === submitted.jobId));
  assert.equal(item.inputImageUrl, 'data:image/png;base64,…', 'never the image itself');
  assert.equal(item.images.length, 2);
  assert.ok(!JSON.stringify(item).includes(png.toString('base64').slice(0, 40)), 'no data URL contents in the list item');

  mkdirSync(join(root, 'target', 'browser'), { recursive: true });
  await page.screenshot({ path: join(root, 'target', 'browser', 'api-page-options.png'), fullPage: true });
  assert.deepEqual(errors, [], 'no script errors');
  await page.close();
});
