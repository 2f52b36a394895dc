import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The package's front door as a user meets it: `npm pack` the project, install
// the tarball into a fresh project without network, then
// `import { loadCausalLM, generate } from 'muse'` in plain JavaScript (generating
// with the bundled poet model) and `tsc --noEmit` on TypeScript that uses the types.

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** Newest modification time under `dir` (ms). */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

test('npm pack → offline install → import from "muse" in JavaScript and TypeScript', { timeout: 600_000 }, (t) => {
  // dist/ is what the package ships; `npm ci` builds it (prepare). Rebuild only when src/ is newer.
  const distIndex = join(root, 'dist', 'index.js');
  if (!existsSync(distIndex) || statSync(distIndex).mtimeMs < newest(join(root, 'src'))) {
    const b = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], root);
    assert.equal(b.status, 0, `building dist/ failed:\n${b.out}`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'muse-pack-'));
  try {
    const packed = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], root);
    if (packed.status !== 0) return t.skip(`npm pack is not possible here: ${packed.out.slice(-300)}`);
    const tarball = join(tmp, (JSON.parse(packed.out.slice(packed.out.indexOf('['))) as { filename: string }[])[0].filename);
    // A consumer project whose own dependencies are links to this checkout's installed
    // packages, so that npm resolves muse's dependencies without the network.
    const proj = join(tmp, 'consumer');
    const deps = Object.fromEntries(Object.keys(pkg.dependencies).map((d) => [d, `file:${realpathSync(join(root, 'node_modules', d))}`]));
    run('mkdir', ['-p', proj], tmp);
    writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module', dependencies: deps }));
    // --ignore-scripts: the linked dependencies are this checkout's own installed packages, whose
    // install scripts (native rebuilds) must not run again; muse itself then runs on the js backend.
    const inst = run('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--install-links=false', tarball], proj);
    assert.equal(inst.status, 0, `offline install failed:\n${inst.out}`);

    writeFileSync(
      join(proj, 'poem.js'),
      `import { loadCausalLM, generate, defaultModelFor } from 'muse';
const lm = loadCausalLM(defaultModelFor('床前明月光，'));
const ids = lm.tokenizer.encode('床前明月光，', { addSpecialTokens: false }).ids;
const out = generate(lm.model, [ids], { ...lm.generationConfig, maxNewTokens: 6, seed: 1 }, { tokenizer: lm.tokenizer });
console.log(JSON.stringify({ family: lm.family, text: lm.tokenizer.decode(out.sequences[0], { skipSpecialTokens: true }) }));
`,
    );
    const js = run(process.execPath, ['poem.js'], proj, { MUSE_BACKEND: 'js' });
    assert.equal(js.status, 0, js.out);
    const line = JSON.parse(js.out.trim().split('\n').pop()!) as { family: string; text: string };
    assert.equal(line.family, 'gpt2');
    assert.ok(line.text.length > 0, 'generated no text');

    writeFileSync(
      join(proj, 'typed.ts'),
      `import { loadModel, generate, type LoadedModelAny, type GenerationConfig, type Tokenizer, Tensor, fromArray, corpusBleu } from 'muse';
const loaded: LoadedModelAny = loadModel('models/x');
if (loaded.kind === 'causal-lm') {
  const tok: Tokenizer = loaded.tokenizer;
  const cfg: GenerationConfig = { ...loaded.generationConfig, maxNewTokens: 4 };
  const out = generate(loaded.model, [tok.encode('hi').ids], cfg, { tokenizer: tok });
  const first: number[] = out.sequences[0]!;
  void first;
}
const t: Tensor = fromArray(new Float32Array([1, 2]), [2]);
const bleu: number = corpusBleu(['a b c'], [['a b c']]).score;
void t; void bleu;
`,
    );
    writeFileSync(
      join(proj, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, skipLibCheck: true, types: [] }, files: ['typed.ts'] }),
    );
    const tsc = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], proj);
    assert.equal(tsc.status, 0, `tsc --noEmit on a TypeScript consumer failed:\n${tsc.out}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
