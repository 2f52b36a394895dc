// `npm install` hook: builds the native kernels (native/, node-gyp, the machine's
// g++ and Node headers, no downloads). A failed build is not fatal: muse then
// runs on the js backend and says so once at startup.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

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
  ].filter(Boolean);
  return candidates.find((p) => existsSync(p));
})();
const cmd = gypJs ? [process.execPath, [gypJs, 'rebuild', '--directory=native']] : ['npx', ['--no-install', 'node-gyp', 'rebuild', '--directory=native']];
const res = spawnSync(cmd[0], cmd[1], { stdio: 'inherit' });
if (res.status !== 0) {
  console.warn('muse: the native kernels did not build; muse will use the slower js backend. See the output above.');
}
process.exit(0);
