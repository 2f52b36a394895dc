import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonErrorOffset, lineColumn, parseJson } from '../../src/io/json.js';
import { FileFormatError } from '../../src/errors.js';

// Positions reported by CPython's json module (json.loads(...) → "line L column C (char N)").
const PYTHON_POSITIONS: [string, number, number, number][] = [
  ['{\n  "n_layer": 1,\n  "n_head": ,\n}\n', 3, 13, 30],
  ['{"a": tru}', 1, 7, 6],
  ['{"a":}', 1, 6, 5],
  ['{"a":1,}', 1, 8, 7],
  ['[1,2] x', 1, 7, 6],
  ['{"a":"\\x01"}', 1, 7, 6],
  ['{"a": 1e}', 1, 8, 7],
  ['{"a": -}', 1, 7, 6],
  ['{"a": 01}', 1, 8, 7],
  ['{"a": "\\q"}', 1, 8, 7],
  ['{"a": [1 2]}', 1, 10, 9],
  ['{"a" 1}', 1, 6, 5],
];

test('error positions agree with CPython json', () => {
  for (const [text, line, column, offset] of PYTHON_POSITIONS) {
    assert.equal(jsonErrorOffset(text), offset, JSON.stringify(text));
    assert.deepEqual(lineColumn(text, offset), { line, column });
    assert.throws(
      () => parseJson(text, 'f.json'),
      (e: unknown) => e instanceof FileFormatError && e.message.includes(`f.json: invalid JSON at line ${line}, column ${column}`),
    );
  }
});

test('valid JSON has no error offset and parses', () => {
  for (const text of ['{}', ' [1, -2.5e+3, "a\\u00e9\\n", true, false, null, {"x": []}] ', '"s"', '0']) {
    assert.equal(jsonErrorOffset(text), -1, text);
    assert.deepEqual(parseJson(text, 'x'), JSON.parse(text));
  }
  assert.deepEqual(parseJson('\ufeff{"a":1}', 'bom'), { a: 1 });
  assert.equal(jsonErrorOffset(''), 0);
  assert.equal(jsonErrorOffset('{"a": "b'), 8);
});
