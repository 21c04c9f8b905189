/**
 * The one place that loads uWebSockets.js. Candidates, in order (the first native one wins,
 * see uws-choice.ts):
 *
 * 1. `SWITCHYARD_UWS_PATH`, when set, and then nothing else: a build the user installed
 *    themselves (the official one from uNetworking's GitHub releases, or their own).
 * 2. `uWebSockets.js` (npm: @trufflesuite/uws-js-unofficial 20.30): Node 16/18/20 on
 *    glibc ≥ 2.27. What the test suite runs on. Its binary is loaded directly, so its
 *    silent pure-JS fallback never engages.
 * 3. `@btc-vision/uwebsockets.js` 20.57 (optional dependency; the official uWS binaries
 *    republished): Node 20/22/24/25 on glibc ≥ 2.38 (Debian 13, Ubuntu 24.04).
 *
 * Loading happens once at import; a failure is kept and thrown by `assertNativeUws()`, so
 * importing this module never throws and the message reaches the user through the CLI.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as UwsTypes from 'uWebSockets.js';
import { chooseUws, UWS_PATH_ENV, type Machine, type UwsCandidate } from './uws-choice.js';

export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';

const require = createRequire(import.meta.url);

function packageVersion(dir: string): string {
  try {
    return String((JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown }).version ?? '?');
  } catch {
    return '?';
  }
}

function notInstalled(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 'MODULE_NOT_FOUND';
}

const truffle: UwsCandidate = {
  name: 'uWebSockets.js (@trufflesuite/uws-js-unofficial)',
  supports: 'Node 20 (or 16, 18) on glibc ≥ 2.27, macOS or Windows: the bundled uWebSockets.js dependency',
  // HTTP_IDLE_TIMEOUT_S = 10, swept every 4 s: closed 8 to 12 s after the last response.
  idleTimeoutS: 8,
  load() {
    let dir: string;
    try {
      dir = path.dirname(require.resolve('uWebSockets.js/package.json'));
    } catch (err) {
      throw new Error(notInstalled(err) ? 'not installed (run `npm ci`)' : String(err));
    }
    const prefix = `uws_${process.platform}_${process.arch}_`;
    const file = path.join(dir, 'binaries', `${prefix}${process.versions.modules}.node`);
    if (!existsSync(file)) {
      const abis = readdirSync(path.join(dir, 'binaries'))
        .filter((f) => f.startsWith(prefix))
        .map((f) => f.slice(prefix.length, -'.node'.length))
        .sort((a, b) => Number(a) - Number(b));
      throw new Error(`${packageVersion(dir)} has no binary for ABI ${process.versions.modules} on ${process.platform}-${process.arch} (it has ABI ${abis.join(', ') || 'none'})`);
    }
    return require(file);
  },
};

const btcVision: UwsCandidate = {
  name: '@btc-vision/uwebsockets.js',
  supports: 'Node 20, 22, 24 or 25 on glibc ≥ 2.38 (Debian 13, Ubuntu 24.04, Fedora 39+), macOS or Windows: the optional @btc-vision/uwebsockets.js dependency (`npm ci` installs it unless optional dependencies are omitted)',
  // Measured: idle keep-alive and half-read heads close about 30 s after the last byte.
  idleTimeoutS: 28,
  load() {
    try {
      return require('@btc-vision/uwebsockets.js');
    } catch (err) {
      if (notInstalled(err) && String((err as Error).message).includes("'@btc-vision/uwebsockets.js'")) throw new Error('not installed (an optional dependency: was `--omit=optional` used?)');
      throw err;
    }
  },
};

function userBuild(where: string): UwsCandidate {
  const abs = path.resolve(where);
  return {
    name: `${UWS_PATH_ENV}=${where}`,
    supports: `whatever build ${UWS_PATH_ENV} names, when it matches this Node's ABI`,
    // Unknown: assume the shortest of the builds we know.
    idleTimeoutS: 8,
    load: () => require(abs),
  };
}

function glibcVersion(): string | null {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ?? null;
}

const override = process.env[UWS_PATH_ENV];
const candidates = override ? [userBuild(override)] : [truffle, btcVision];
const choice = chooseUws(
  candidates,
  {
    node: process.versions.node,
    abi: process.versions.modules,
    platform: process.platform,
    arch: process.arch,
    get glibc() {
      return glibcVersion();
    },
  } satisfies Machine,
  override ? `${UWS_PATH_ENV} is set, so only it was tried; unset it to use the bundled builds.` : '',
);

/** The native module; only valid after `assertNativeUws()` has returned. */
export const uWS = (choice.ok ? choice.module : undefined) as typeof UwsTypes;

/**
 * The `Keep-Alive` hint for responses: a little under what the build keeps an idle connection,
 * so clients that honour it (Node's http.Agent, undici/fetch) retire a socket before we close it.
 */
export const KEEP_ALIVE_HINT = `timeout=${choice.ok ? choice.idleTimeoutS - 1 : 7}`;

/** Which build loaded, for the startup log; null when none did. */
export const uwsBuild: string | null = choice.ok ? choice.name : null;

/** Throws, with what was tried and what would work, unless a native build loaded. */
export function assertNativeUws(): void {
  if (!choice.ok) throw new Error(choice.message);
}
