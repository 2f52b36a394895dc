// Every `import { … } from 'muse'` in README.md and docs/*.md names something the package exports,
// and no doc imports a subpath ('muse/…'), which package.json's "exports" does not resolve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

/** Names exported as types somewhere under src/ (interfaces and type aliases reach index.ts through `export *`). */
function isExportedType(name: string, indexText: string): boolean {
  if (new RegExp(`\\btype ${name}\\b|export type \\{[^}]*\\b${name}\\b`).test(indexText)) return true;
  const decl = new RegExp(`export (?:interface|type|declare type) ${name}\\b`);
  const walk = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') && decl.test(readFileSync(join(dir, e.name), 'utf8'))));
  return walk(join(ROOT, 'src'));
}

test("docs import only names that 'muse' exports, and no subpaths", async () => {
  const api = (await import('../../src/index.js')) as Record<string, unknown>;
  const indexText = readFileSync(join(ROOT, 'src', 'index.ts'), 'utf8');
  const problems: string[] = [];
  for (const doc of DOCS) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    for (const m of text.matchAll(/from '(muse\/[^']*)'/g)) problems.push(`${doc}: imports the subpath '${m[1]}' (only 'muse' resolves)`);
    for (const m of text.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s+from\s+'muse'/g)) {
      for (const raw of m[2].split(',')) {
        const spec = raw.replace(/\/\/.*$/gm, '').trim();
        if (!spec || spec === '…' || spec === '...') continue; // an elision in prose
        const typeOnly = m[1] !== undefined || spec.startsWith('type ');
        const name = spec.replace(/^type\s+/, '').split(/\s+as\s+/)[0].trim();
        const ok = name in api || (typeOnly && isExportedType(name, indexText));
        if (!ok) problems.push(`${doc}: ${name} is not exported by src/index.ts`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('the README library example works from an installed package: bundled models by bundledModelsDir(), not a checkout path', () => {
  const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  for (const b of blocks) assert.doesNotMatch(b, /load\w*\(\s*'models\//, 'a path relative to a checkout');
  const lib = blocks.find((b) => /stream\(/.test(b));
  assert.ok(lib, 'the README shows stream()');
  assert.match(lib, /stream\([^\n]*\n\s*process\.stdout\.write\('\\n'\)/, 'the stream loop ends its line');
});
