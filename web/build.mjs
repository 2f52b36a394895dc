// Bundles the playground (web/src/*.ts) with esbuild into web/dist, next to
// its HTML and CSS. Run by `npm run build` (and so by `npm ci`); `muse serve`
// serves web/dist from disk, with no network.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');

/** Build web/dist; resolves when done. */
export async function buildWeb() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: { playground: join(here, 'src/playground.ts'), train: join(here, 'src/train.ts') },
    outdir: out,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'train.html', 'style.css']) copyFileSync(join(here, f), join(out, f));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildWeb();
  console.log(`web: built ${out}`);
}
