/** Backend selection: MUSE_BACKEND, setBackend, the one-line fallback warning. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeBackend } from '../../src/backend/native.js';

type BackendModule = typeof import('../../src/backend/index.js');
let fresh = 0;
/** A new instance of src/backend/index.ts (its choice is cached per module instance). */
async function load(): Promise<BackendModule> {
  return (await import(`../../src/backend/index.js?fresh=${fresh++}`)) as BackendModule;
}

function captureStderr<T>(fn: () => T): { value: T; text: string } {
  const orig = process.stderr.write.bind(process.stderr);
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  try {
    return { value: fn(), text };
  } finally {
    process.stderr.write = orig;
  }
}

test('MUSE_BACKEND=js forces the js backend without a warning', async () => {
  const prev = process.env.MUSE_BACKEND;
  process.env.MUSE_BACKEND = 'js';
  try {
    const m = await load();
    const { value, text } = captureStderr(() => m.getBackend());
    assert.equal(value.name, 'js');
    assert.equal(text, '');
  } finally {
    if (prev === undefined) delete process.env.MUSE_BACKEND;
    else process.env.MUSE_BACKEND = prev;
  }
});

test('default: native when it loads, else js with ONE one-line warning', async () => {
  const prev = process.env.MUSE_BACKEND;
  delete process.env.MUSE_BACKEND;
  try {
    const m = await load();
    const { value, text } = captureStderr(() => [m.getBackend(), m.getBackend()]);
    if (loadNativeBackend()) {
      assert.equal(value[0].name, 'native');
    } else {
      assert.equal(value[0].name, 'js');
      assert.equal(text.split('\n').filter(Boolean).length, 1, `exactly one warning line, got ${JSON.stringify(text)}`);
    }
  } finally {
    if (prev !== undefined) process.env.MUSE_BACKEND = prev;
  }
});

test('native requested but unavailable is a clear error; unknown names are rejected', async () => {
  const prev = process.env.MUSE_BACKEND;
  try {
    process.env.MUSE_BACKEND = 'native';
    const m = await load();
    if (loadNativeBackend()) assert.equal(m.getBackend().name, 'native');
    else {
      assert.throws(() => m.getBackend(), /native backend was requested.*npm install/);
      assert.throws(() => m.setBackend('native'), /native/);
    }
    process.env.MUSE_BACKEND = 'cuda';
    const m2 = await load();
    assert.throws(() => m2.getBackend(), /MUSE_BACKEND="cuda".*"js" or "native"/);
    m2.setBackend('js');
    assert.equal(m2.getBackend().name, 'js');
  } finally {
    if (prev === undefined) delete process.env.MUSE_BACKEND;
    else process.env.MUSE_BACKEND = prev;
  }
});
