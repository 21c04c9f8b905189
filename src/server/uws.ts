/**
 * The one place that loads uWebSockets.js. The package silently falls back to a slow
 * pure-JS implementation when its native binding does not load; we refuse to run on that.
 */
import uWS from 'uWebSockets.js';

export { uWS };
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';

/** Throws unless the native binding is what loaded. */
export function assertNativeUws(): void {
  const mod = uWS as unknown as Record<string, unknown>;
  // Only the native module exports getParts (and the other C++ helpers); the fallback has App and little else.
  if (typeof mod.getParts !== 'function' || typeof mod.us_listen_socket_close !== 'function') {
    throw new Error(
      'uWebSockets.js native binding did not load (the pure-JS fallback is in use). Switchyard needs the native build: ' +
        `Node ${process.versions.node} (ABI ${process.versions.modules}) on ${process.platform}-${process.arch}; ` +
        'reinstall with `npm ci` on Node 20 and glibc >= 2.36, and unset UWS_USE_FALLBACK.',
    );
  }
}
