/**
 * The playground in a real browser: playwright-core driving Debian's
 * chromium (installed by .ci/run). Type a prompt → text streams in → rate
 * it → the row is in the database and in the summary; the attention view
 * and the live training view render. Skips when /usr/bin/chromium is absent.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startServer } from './helpers.js';
import type { MuseServer } from '../../src/serve/server.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium; .ci/run does it): browser tests skipped`;

let browser: BrowserContext;
let page: Page;
let server: MuseServer;
let url: string;
let runs: string;

before(async () => {
  if (skip) return;
  if (!existsSync('web/dist/index.html')) {
    const r = spawnSync(process.execPath, ['web/build.mjs'], { stdio: 'inherit' });
    assert.equal(r.status, 0, 'web build failed');
  }
  ({ server, url, dir: runs } = await startServer({ maxTokens: 64 }));
  runs = join(runs, 'runs');
  const { chromium } = await import('playwright-core');
  // A fresh profile per run (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'muse-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(45_000);
});

after(async () => {
  await browser?.close();
  await server?.close(100);
});

test('type a prompt → text streams in → rate it → the row is in the database and the summary', { skip }, async () => {
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]');
  await page.fill('#prompt', 'The fox');
  // Pane A asks for enough tokens that, even on a fast machine, they cannot all land in one or two network reads.
  await page.fill('#pane-a input[name=maxNewTokens]', '64');
  await page.fill('#pane-b input[name=maxNewTokens]', '12');
  await page.fill('#pane-a input[name=seed]', '7');
  // Count how often the output changes while generating: streamed text changes many times.
  await page.evaluate(() => {
    const w = window as unknown as { updates: number };
    w.updates = 0;
    new MutationObserver(() => w.updates++).observe(document.querySelector('#pane-a .output')!, { subtree: true, childList: true, characterData: true });
  });
  await page.click('#generate');
  await page.waitForFunction(() => /tokens in/.test(document.querySelector('#pane-a .status')?.textContent ?? ''));
  await page.waitForFunction(() => /tokens in|error/.test(document.querySelector('#pane-b .status')?.textContent ?? ''));
  const updates = await page.evaluate(() => (window as unknown as { updates: number }).updates);
  assert.ok(updates >= 4, `the text arrived in ${updates} updates; expected a stream`);
  const outA = await page.textContent('#pane-a .generated');
  const outB = await page.textContent('#pane-b .generated');
  assert.ok(outA && outA.length > 0 && outB && outB.length > 0);
  assert.match((await page.textContent('#pane-b .status')) ?? '', /muse-story-en · 12 tokens/);

  await page.click('#pane-a .stars button[data-rate="4"]');
  await page.fill('#pane-a .comment', 'a fine fox');
  await page.click('#pane-a .submit-rating');
  await page.waitForFunction(() => /saved rating #1/.test(document.querySelector('#pane-a .rated')?.textContent ?? ''));

  const rows = server.context.ratings.all();
  assert.equal(rows.length, 1);
  assert.equal(rows[0].rating, 4);
  assert.equal(rows[0].comment, 'a fine fox');
  assert.equal(rows[0].prompt, 'The fox');
  assert.equal(rows[0].output, outA);
  assert.equal(rows[0].model, 'muse-story-en');
  assert.equal(rows[0].settings.seed, 7);
  assert.equal(rows[0].settings.max_new_tokens, 64);

  await page.waitForFunction(() => document.querySelectorAll('#summary-table tbody tr').length === 1);
  const cells = await page.$$eval('#summary-table tbody tr td', (tds) => tds.map((td) => td.textContent));
  assert.equal(cells[0], 'muse-story-en');
  assert.equal(cells[2], '1');
  assert.equal(cells[3], '4.00');
});

test('attention view: a heatmap of the passage, hover a token to see where it attends', { skip }, async () => {
  await page.click('#pane-a .show-attention');
  await page.waitForFunction(() => /tokens\)/.test(document.querySelector('#attn-source')?.textContent ?? ''));
  const n = await page.$$eval('#attn-tokens span', (s) => s.length);
  const text = 'The fox' + ((await page.textContent('#pane-a .generated')) ?? '');
  assert.equal(n, [...text].length, 'one span per (character) token');
  assert.deepEqual(await page.$$eval('#attn-layer option', (o) => o.length), 4);
  await page.selectOption('#attn-layer', '2');
  await page.selectOption('#attn-head', '1');
  await page.hover('#attn-tokens span[data-index="5"]');
  const shaded = await page.$$eval('#attn-tokens span', (s) => s.map((x) => (x as HTMLElement).style.background));
  assert.ok(shaded.slice(0, 6).every((b) => b.startsWith('rgb')), 'tokens 0..5 are shaded');
  assert.ok(shaded.slice(6).every((b) => b === ''), 'later tokens are not (causal)');
  const canvas = await page.$eval('#attn-canvas', (c) => (c as HTMLCanvasElement).width);
  assert.ok(canvas >= n * 2);
});

test('training view plots metrics.jsonl and follows it while it grows', { skip }, async () => {
  mkdirSync(join(runs, 'live'), { recursive: true });
  const log = join(runs, 'live', 'metrics.jsonl');
  writeFileSync(log, [1, 2, 3].map((s) => JSON.stringify({ event: 'train', step: s, trainLoss: 4 - s * 0.1 })).join('\n') + '\n');
  await page.goto(`${url}/train?run=live`);
  await page.waitForSelector('body[data-ready=true]');
  const points = () => page.$eval('polyline.curve-train', (p) => (p.getAttribute('points') ?? '').trim().split(' ').length).catch(() => 0);
  await page.waitForFunction(() => document.querySelector('#chart polyline') !== null);
  assert.equal(await points(), 3);
  appendFileSync(log, JSON.stringify({ event: 'train', step: 4, trainLoss: 3.5 }) + '\n' + JSON.stringify({ event: 'eval', step: 4, trainLoss: 3.5, valLoss: 3.7 }) + '\n');
  await page.waitForFunction(() => (document.querySelector('#chart polyline')?.getAttribute('points') ?? '').trim().split(' ').length === 4, undefined, { timeout: 6000 });
  assert.equal(await page.$$eval('#chart polyline', (p) => p.length), 2, 'train and val curves');
});
