// The package's public types (what src/index.ts reaches) must not need @types/node: a user's
// `tsc` without it would fail on NodeJS.… or on fastify's Node-typed declarations.
// Declarations are emitted per file (ts.transpileDeclaration, no type check) and the graph of
// relative imports is walked from src/index.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '../..');

test('the declarations src/index.ts reaches use no NodeJS namespace and no Node-typed module', () => {
  const seen = new Set<string>();
  const problems: string[] = [];
  const queue = [join(ROOT, 'src', 'index.ts')];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const dts = ts.transpileDeclaration(readFileSync(file, 'utf8'), { fileName: file, compilerOptions: { module: ts.ModuleKind.NodeNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const name = relative(ROOT, file);
    if (/\bNodeJS\./.test(dts)) problems.push(`${name}: NodeJS.…`);
    for (const m of dts.matchAll(/(?:from|import\()\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1];
      if (spec.startsWith('.')) {
        const target = join(dirname(file), spec.replace(/\.js$/, '.ts'));
        if (existsSync(target)) queue.push(target);
      } else if (/^node:|^fastify$|^better-sqlite3$|^cli-progress$/.test(spec)) {
        problems.push(`${name}: imports types from ${spec}`);
      }
    }
  }
  assert.ok(seen.size > 20, `walked ${seen.size} files`);
  assert.deepEqual(problems, []);
});
