import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../../src/errors.js';
import { splitDocuments, splitText, splitTokens } from '../../src/data/split.js';

const SHAKESPEARE = '/work/shared/data/tinyshakespeare.txt';

test("nanoGPT's 90/10 split of tinyshakespeare: 1,003,854 / 111,540 characters", { skip: !existsSync(SHAKESPEARE) }, () => {
  const text = readFileSync(SHAKESPEARE, 'utf8');
  const { train, val } = splitText(text);
  // nanoGPT data/shakespeare_char/prepare.py prints "train has 1,003,854 tokens", "val has 111,540 tokens"
  assert.equal(train.length, 1003854);
  assert.equal(val.length, 111540);
  assert.equal(train + val, text);
});

test('the text split counts code points like Python len()', () => {
  // Python: s = "a😀b😀c😀d😀e😀"; n = len(s) = 10; s[:int(n*0.9)] == "a😀b😀c😀d😀e"
  const s = 'a😀b😀c😀d😀e😀';
  assert.deepEqual(splitText(s), { train: 'a😀b😀c😀d😀e', val: '😀' });
  assert.deepEqual(splitText('床前明月光', 0.5), { train: '床前', val: '明月光' }); // int(5*0.5) = 2
  assert.throws(() => splitText('x', 0), ConfigError);
});

test('token split is the same rule on ids, without copying', () => {
  const ids = Int32Array.from({ length: 101 }, (_, i) => i);
  const { train, val } = splitTokens(ids);
  assert.equal(train.length, 90); // int(101 * 0.9) = 90
  assert.equal(val[0], 90);
  assert.equal(train.buffer, ids.buffer);
});

test('document split: deterministic, disjoint, complete, ceil-sized, order kept', () => {
  const docs = Array.from({ length: 57 }, (_, i) => `doc${i}`);
  const a = splitDocuments(docs, { valFraction: 0.1, seed: 7 });
  const b = splitDocuments(docs, { valFraction: 0.1, seed: 7 });
  const c = splitDocuments(docs, { valFraction: 0.1, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.val, c.val);
  assert.equal(a.val.length, 6); // ceil(5.7), as scikit-learn's train_test_split
  assert.equal(a.train.length, 51);
  assert.deepEqual([...a.train, ...a.val].sort(), [...docs].sort());
  const idx = (d: string): number => Number(d.slice(3));
  assert.deepEqual(a.val.map(idx), [...a.val.map(idx)].sort((x, y) => x - y));
  assert.deepEqual(splitDocuments(['only'], { valFraction: 0 }), { train: ['only'], val: [] });
  assert.equal(splitDocuments(['a', 'b'], { valFraction: 0.01 }).val.length, 1);
  assert.throws(() => splitDocuments(['a'], { valFraction: 0.5 }), /leaves none for training/);
  assert.throws(() => splitDocuments(docs, { valFraction: 1 }), ConfigError);
});

test('document split is roughly uniform over seeds', () => {
  const docs = Array.from({ length: 20 }, (_, i) => i);
  const hits = new Array(20).fill(0);
  for (let seed = 0; seed < 2000; seed++) for (const d of splitDocuments(docs, { valFraction: 0.25, seed }).val) hits[d]++;
  // each document is in validation with p = 5/20: expected 500 of 2000, sd ~19
  for (const h of hits) assert.ok(Math.abs(h - 500) < 100, `hits ${hits}`);
});
