// `npm install` hook: builds the native kernels (native/, node-gyp, the machine's
// g++ and Node headers, no downloads). A failed build is not fatal: muse then
// runs on the js backend and says so once at startup.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

if (!existsSync('native/binding.gyp')) {
  console.log('muse: no native/binding.gyp, skipping the native build');
  process.exit(0);
}
if (process.env.MUSE_SKIP_NATIVE) {
  console.log('muse: MUSE_SKIP_NATIVE set, skipping the native build');
  process.exit(0);
}
const gypJs = (() => {
  const candidates = [
    process.env.npm_config_node_gyp,
    'node_modules/node-gyp/bin/node-gyp.js',
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  ].filter(Boolean);
  return candidates.find((p) => existsSync(p));
})();
// Use the headers that ship with this Node (<prefix>/include/node) so node-gyp
// never tries to download them; an explicit --nodedir / npm_config_nodedir wins.
const args = ['rebuild', '--directory=native', '--jobs=max'];
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const cmd = gypJs ? [process.execPath, [gypJs, ...args]] : ['npx', ['--no-install', 'node-gyp', ...args]];
const res = spawnSync(cmd[0], cmd[1], { stdio: 'inherit' });
if (res.status !== 0) {
  console.warn('muse: the native kernels did not build; muse will use the slower js backend. See the output above.');
}
process.exit(0);
