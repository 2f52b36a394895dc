import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFormatError } from '../../src/errors.js';
import { BLANK_LINE, readCorpus, toSimplified, toTraditional } from '../../src/data/corpus.js';

const DATA = '/work/shared/data';
const haveData = existsSync(join(DATA, 'tang-poems.jsonl'));
const skip = haveData ? false : `${DATA} not found`;

function withTmp(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'muse-corpus-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('tinyshakespeare is one document of 1,115,394 characters (nanoGPT input.txt)', { skip }, () => {
  const docs = readCorpus(join(DATA, 'tinyshakespeare.txt'));
  assert.equal(docs.length, 1);
  assert.equal(docs[0].length, 1115394);
  assert.ok(docs[0].startsWith('First Citizen:\nBefore we proceed any further, hear me speak.'));
});

test('split on blank lines: 7,222 speeches (Python: text.split("\\n\\n"), non-empty)', { skip }, () => {
  const docs = readCorpus(join(DATA, 'tinyshakespeare.txt'), { separator: BLANK_LINE });
  assert.equal(docs.length, 7222);
  assert.equal(docs[1], 'All:\nSpeak, speak.');
  assert.equal(readCorpus(join(DATA, 'tinyshakespeare.txt'), { separator: BLANK_LINE, maxDocuments: 3 }).length, 3);
});

test('tang-poems.jsonl prefix: field, several fields, maxDocuments', { skip }, () => {
  const docs = readCorpus(join(DATA, 'tang-poems.jsonl'), { maxDocuments: 2000 });
  assert.equal(docs.length, 2000);
  assert.equal(docs[0], '秦川雄帝宅，函谷壯皇居。綺殿千尋起，離宮百雉餘。連甍遙接漢，飛觀迥凌虛。雲日隱層闕，風煙出綺疎。');
  const titled = readCorpus(join(DATA, 'tang-poems.jsonl'), { field: ['title', 'author', 'text'], join: '|', maxDocuments: 2000 });
  assert.equal(titled[1999].split('|')[0], '雜曲歌辭 伊州 歌第二');
  assert.ok(titled[0].startsWith('帝京篇十首 一|太宗皇帝|秦川雄帝宅'));
});

test('traditional → simplified on a Tang poem (李白《靜夜思》, line 55721 of the corpus)', { skip }, () => {
  const line = readFileSync(join(DATA, 'tang-poems.jsonl'), 'utf8').split('\n').find((l) => l.includes('"靜夜思"'))!;
  withTmp((dir) => {
    writeFileSync(join(dir, 'p.jsonl'), `${line}\n`);
    const [kept] = readCorpus(join(dir, 'p.jsonl'));
    const [simplified] = readCorpus(join(dir, 'p.jsonl'), { script: 'simplified' });
    assert.equal(kept, '牀前看月光，疑是地上霜。舉頭望山月，低頭思故鄉。');
    // the standard simplified text of this (Song-edition) version of the poem
    assert.equal(simplified, '床前看月光，疑是地上霜。举头望山月，低头思故乡。');
  });
  assert.equal(toSimplified('床前明月光'), '床前明月光');
  assert.equal(toSimplified('疑是地上霜'), '疑是地上霜');
  assert.equal(toSimplified('舉頭望明月，低頭思故鄉。'), '举头望明月，低头思故乡。');
  assert.equal(toTraditional('举头望明月，低头思故乡。'), '舉頭望明月，低頭思故鄉。');
  assert.equal(toSimplified('Hello, world'), 'Hello, world');
});

test('song-ci.jsonl is already simplified: converting changes almost nothing', { skip }, () => {
  const docs = readCorpus(join(DATA, 'song-ci.jsonl'), { maxDocuments: 300 });
  const simple = readCorpus(join(DATA, 'song-ci.jsonl'), { maxDocuments: 300, script: 'simplified' });
  let chars = 0;
  let changed = 0;
  docs.forEach((d, i) => {
    // by code point: 巘 → 𪩘 turns one UTF-16 unit into two
    const a = Array.from(d);
    const b = Array.from(simple[i]);
    assert.equal(b.length, a.length);
    chars += a.length;
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) changed++;
  });
  assert.ok(changed / chars < 0.005, `${changed} of ${chars} characters changed`);
  // and the traditional corpus changes a lot
  const tang = readCorpus(join(DATA, 'tang-poems.jsonl'), { maxDocuments: 100 }).join('');
  const tangS = toSimplified(tang);
  let diff = 0;
  for (let k = 0; k < tang.length; k++) if (tang[k] !== tangS[k]) diff++;
  assert.ok(diff / tang.length > 0.1, `${diff} of ${tang.length}`);
});

test('invalid UTF-8 becomes U+FFFD with one warning counting the sequences', () => {
  withTmp((dir) => {
    // valid text, a lone continuation byte, a truncated 3-byte sequence, an overlong, a legit U+FFFD
    const bytes = Buffer.concat([
      Buffer.from('ok '),
      Buffer.from([0x80]),
      Buffer.from(' 中'),
      Buffer.from([0xe4, 0xb8]),
      Buffer.from(' x'),
      Buffer.from([0xc0, 0xaf]),
      Buffer.from(' \ufffd end'),
    ]);
    writeFileSync(join(dir, 'bad.txt'), bytes);
    const warnings: string[] = [];
    const [doc] = readCorpus(join(dir, 'bad.txt'), { onWarning: (m) => warnings.push(m) });
    // reference: the WHATWG decoder, counting the replacement characters it adds
    const reference = new TextDecoder().decode(bytes);
    assert.equal(doc, reference);
    const added = (reference.match(/\ufffd/g) ?? []).length - 1;
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], new RegExp(`bad\\.txt: ${added} invalid UTF-8 sequences replaced with U\\+FFFD \\(first at byte 3\\)`));
    assert.equal(added, 4); // 80 | E4 B8 | C0 | AF (WHATWG: one per maximal subpart)
    const clean: string[] = [];
    writeFileSync(join(dir, 'good.txt'), '\ufeffhello');
    assert.deepEqual(readCorpus(join(dir, 'good.txt'), { onWarning: (m) => clean.push(m) }), ['hello']);
    assert.deepEqual(clean, []);
  });
});

test('invalid-sequence counts agree with the WHATWG decoder on random bytes', () => {
  withTmp((dir) => {
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let round = 0; round < 30; round++) {
      const bytes = Buffer.alloc(200, 0);
      for (let i = 0; i < bytes.length; i++) bytes[i] = rand() < 200 ? 0x41 + (rand() % 26) : rand();
      writeFileSync(join(dir, 'r.txt'), bytes);
      const warnings: string[] = [];
      readCorpus(join(dir, 'r.txt'), { onWarning: (m) => warnings.push(m) });
      const decoded = new TextDecoder().decode(bytes);
      const fffd = (decoded.match(/\ufffd/g) ?? []).length;
      const legitFffd = bytes.toString('latin1').split('\xef\xbf\xbd').length - 1; // U+FFFD already in the bytes
      const expected = fffd - legitFffd;
      if (expected === 0) assert.deepEqual(warnings, []);
      else assert.match(warnings[0], new RegExp(`: ${expected} invalid UTF-8 sequences?`));
    }
  });
});

test('CRLF text and custom separators', () => {
  withTmp((dir) => {
    writeFileSync(join(dir, 'a.txt'), 'one\r\nline\r\n\r\n  \r\ntwo<|endoftext|>three\r\n');
    assert.deepEqual(readCorpus(join(dir, 'a.txt'), { separator: BLANK_LINE }), ['one\nline', 'two<|endoftext|>three\n']);
    assert.deepEqual(readCorpus(join(dir, 'a.txt'), { separator: '<|endoftext|>' }), ['one\nline\n\n  \ntwo', 'three\n']);
  });
});

test('errors: missing file, unsupported type, bad JSON on line N, missing field on line N', () => {
  withTmp((dir) => {
    const is = (re: RegExp) => (e: unknown) => e instanceof FileFormatError && re.test(e.message);
    assert.throws(() => readCorpus(join(dir, 'none.txt')), is(/none\.txt: file not found/));
    writeFileSync(join(dir, 'x.csv'), 'a,b');
    assert.throws(() => readCorpus(join(dir, 'x.csv')), is(/unsupported corpus type "\.csv"; use a \.txt .* or \.jsonl/));
    writeFileSync(join(dir, 'b.jsonl'), '{"text": "a"}\n\n{"text": "b",}\n');
    assert.throws(() => readCorpus(join(dir, 'b.jsonl')), is(/b\.jsonl line 3: invalid JSON at column 14/));
    writeFileSync(join(dir, 'c.jsonl'), '{"text": "a"}\n{"title": "t", "body": "b"}\n');
    assert.throws(() => readCorpus(join(dir, 'c.jsonl')), is(/c\.jsonl line 2: no field "text"; this line has "title", "body"/));
    writeFileSync(join(dir, 'd.jsonl'), '{"text": {"x": 1}}\n');
    assert.throws(() => readCorpus(join(dir, 'd.jsonl')), is(/d\.jsonl line 1: field "text" is a object, expected text/));
    writeFileSync(join(dir, 'e.jsonl'), '"bare string"\r\n{"text": ["l1", "l2"]}\r\n{"text": 3}\n');
    assert.deepEqual(readCorpus(join(dir, 'e.jsonl')), ['bare string', 'l1\nl2', '3']);
    // maxDocuments stops parsing: the bad line after the limit is never read
    assert.deepEqual(readCorpus(join(dir, 'b.jsonl'), { maxDocuments: 1 }), ['a']);
  });
});
