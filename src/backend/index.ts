import type { Backend } from './backend.js';
import { jsBackend } from './js/index.js';
import { loadNativeBackend } from './native.js';
import { ConfigError } from '../errors.js';

export type { Backend } from './backend.js';
export { jsBackend } from './js/index.js';

let current: Backend | null = null;
let warned = false;

function pickNative(): Backend {
  const native = loadNativeBackend();
  if (!native) {
    throw new ConfigError(
      'the native backend was requested (MUSE_BACKEND=native or setBackend("native")) but the addon is not built or failed to load; run `npm install` (needs g++ and node-gyp) or use MUSE_BACKEND=js',
    );
  }
  return native;
}

/**
 * The active kernel backend. Chosen on first use: `MUSE_BACKEND=js|native`
 * forces one (native unavailable → ConfigError); otherwise native when the
 * addon loads, else js with a one-line warning on stderr (printed once).
 * @throws ConfigError for an unknown MUSE_BACKEND value or an unavailable native backend
 */
export function getBackend(): Backend {
  if (current) return current;
  const env = process.env.MUSE_BACKEND;
  if (env === 'js') current = jsBackend;
  else if (env === 'native') current = pickNative();
  else if (env !== undefined && env !== '') {
    throw new ConfigError(`MUSE_BACKEND="${env}" is not a backend; use "js" or "native"`);
  } else {
    const native = loadNativeBackend();
    if (native) current = native;
    else {
      if (!warned) {
        warned = true;
        process.stderr.write('muse: native backend not built, using the (slow) js backend; run `npm install` to build it\n');
      }
      current = jsBackend;
    }
  }
  return current;
}

/**
 * Switch the kernel backend for everything that follows.
 * @throws ConfigError when `name` is 'native' and the addon is unavailable
 */
export function setBackend(name: 'js' | 'native'): void {
  if (name === 'js') current = jsBackend;
  else if (name === 'native') current = pickNative();
  else throw new ConfigError(`unknown backend "${String(name)}"; use "js" or "native"`);
}
