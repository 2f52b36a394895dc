/**
 * The playground's chat mode in a real browser (playwright-core driving
 * Debian's chromium, as browser.test.ts): switch to chat, send two messages,
 * the replies stream in and the second request carries the whole
 * conversation. Skips when /usr/bin/chromium is absent.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { loadGPT2Dir } from '../../src/models/gpt2/family.js';
import { ModelRegistry } from '../../src/serve/model-registry.js';
import type { MuseServer } from '../../src/serve/server.js';
import { tinyChatModel } from '../chat/helpers.js';
import { startServer } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium; .ci/run does it): browser tests skipped`;

let browser: BrowserContext;
let page: Page;
let server: MuseServer;
let url: string;

before(async () => {
  if (skip) return;
  if (!existsSync('web/dist/index.html')) {
    const r = spawnSync(process.execPath, ['web/build.mjs'], { stdio: 'inherit' });
    assert.equal(r.status, 0, 'web build failed');
  }
  const models = new ModelRegistry();
  models.addCausalLM(loadGPT2Dir(tinyChatModel()));
  models.addCausalLM(loadGPT2Dir('models/muse-story-en'));
  ({ server, url } = await startServer({ models, maxTokens: 64 }));
  const { chromium } = await import('playwright-core');
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

test('chat mode: only chat models are listed, replies stream in, the conversation is kept', { skip }, async () => {
  const bodies: { messages: { role: string; content: string }[] }[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/v1/chat/completions')) bodies.push(r.postDataJSON() as (typeof bodies)[number]);
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]');
  assert.equal(await page.isHidden('#chat'), true);
  await page.check('input[name=mode][value=chat]');
  assert.equal(await page.isVisible('#chat'), true);
  assert.equal(await page.isHidden('#panes'), true);
  const options = await page.$$eval('#chat-model option', (o) => o.map((x) => (x as HTMLOptionElement).value));
  assert.equal(options.length, 1, 'muse-story-en has no chat template and is not listed');
  await page.fill('#chat-max-tokens', '8');
  await page.fill('#chat-seed', '3');
  await page.fill('#chat-system', 'You tell stories.');
  await page.fill('#chat-input', 'Once upon a time');
  await page.click('#chat-send');
  await page.waitForFunction(() => /tokens in/.test(document.querySelector('#chat-status')?.textContent ?? ''));
  assert.match((await page.textContent('#chat-status')) ?? '', /8 tokens in .* finish: length/);
  await page.fill('#chat-input', 'And then?');
  await page.press('#chat-input', 'Enter');
  await page.waitForFunction(() => document.querySelectorAll('#chat-log .msg').length === 4 && /tokens in/.test(document.querySelector('#chat-status')?.textContent ?? '') && document.querySelector('#chat-send:not([disabled])') !== null);
  const roles = await page.$$eval('#chat-log .msg', (m) => m.map((x) => x.className));
  assert.deepEqual(roles, ['msg user', 'msg assistant', 'msg user', 'msg assistant']);
  const first = (await page.$$eval('#chat-log .msg.assistant .text', (m) => m.map((x) => x.textContent ?? '')))[0];
  assert.ok(first.length > 0);
  assert.equal(bodies.length, 2);
  assert.deepEqual(
    bodies[1].messages.map((m) => m.role),
    ['system', 'user', 'assistant', 'user'],
  );
  assert.equal(bodies[1].messages[2].content, first);
  await page.click('#chat-reset');
  assert.equal(await page.$$eval('#chat-log .msg', (m) => m.length), 0);
});
