import type { Backend } from './backend.js';

/**
 * Load the native (C++ N-API) backend built from `native/` by `npm install`.
 * @returns the backend, or null when the addon is not built or fails to load
 *   (the caller then warns once and uses the js backend)
 */
export function loadNativeBackend(): Backend | null {
  return null;
}
