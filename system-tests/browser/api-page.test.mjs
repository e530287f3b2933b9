// docs/api.html in a real browser (Debian's Chromium, driven by
// playwright-core; never a downloaded browser) against the local stack:
// the page is opened from file:// so every call is cross-origin, as for a
// user who opens the file from disk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const DEV_KEY = 'img_test_dev_123456789';
const QUEUED_SAMPLE_JOB = 'cmkuz35wf00034rk15ycgzvcf'; // seeded by --seed-samples, never queued
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let server;
let browser;
let base;

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
  server = spawn(bin, ['--seed-samples'], {
    env: { ...process.env, PORT: String(port), RUST_LOG: 'warn' },
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
});

const statusOf = (page, card) => page.locator(`#out-${card} .status-line`).first();

async function send(page, card, expected) {
  await page.click(`#send-${card}`);
  await page.waitForFunction(
    ([sel, want]) => document.querySelector(sel)?.textContent.trim().startsWith(want),
    [`#out-${card} .status-line`, String(expected)],
    { timeout: 30_000 },
  );
  return page.locator(`#out-${card} pre.body`).first().textContent();
}

test('a user submits, watches, lists and cancels jobs from docs/api.html', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(join(root, 'docs', 'api.html')).href);

  await page.fill('#base-url', base);
  await page.fill('#api-key', DEV_KEY);
  assert.match(await send(page, 'health', 200), /"status": ?"ok"/);

  await page.fill('#generate-body', JSON.stringify({ prompt: 'A cute cat sitting on a couch', mode: 'draft' }, null, 2));
  await page.check('#generate-poll');
  const submitted = JSON.parse(await send(page, 'generate', 202));
  assert.equal(submitted.status, 'QUEUED');
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

  const listed = await send(page, 'list', 200);
  assert.ok(listed.includes(submitted.jobId), 'the new job is listed');

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
