/** `--dtype` / `--kv-cache-dtype` of muse generate and serve: defaults, accepted values, errors naming the flag. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dtypeLoadOptions } from '../../src/cli/dtype-flags.js';
import { ConfigError } from '../../src/errors.js';

test('dtype flags: defaults, values, errors', () => {
  assert.deepEqual(dtypeLoadOptions({}), { dtype: 'auto', kvCacheDtype: 'float32' });
  assert.deepEqual(dtypeLoadOptions({ dtype: 'float32', kvCacheDtype: 'float16' }), { dtype: 'float32', kvCacheDtype: 'float16' });
  assert.throws(() => dtypeLoadOptions({ dtype: 'float64' }), (e: unknown) => e instanceof ConfigError && /--dtype float64: use auto/.test((e as Error).message));
  assert.throws(() => dtypeLoadOptions({ kvCacheDtype: 'int8' }), (e: unknown) => e instanceof ConfigError && /--kv-cache-dtype int8/.test((e as Error).message));
});
