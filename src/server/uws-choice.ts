/**
 * Which uWebSockets.js build to run on. No single npm package ships native binaries for every
 * Node release and glibc we support, so we try candidates in order and take the first whose
 * native binding loads. A candidate that loads but is not native (the pure-JS fallback some
 * packages switch to silently) is refused: Switchyard never runs on a pure-JS server.
 *
 * Pure: the candidates and the facts about this machine are passed in, so the choice and the
 * message a user sees when nothing loads are unit-tested without the real builds.
 */

export interface UwsCandidate {
  /** What a user would recognise: the package name and version, or the path they set. */
  readonly name: string;
  /** The Node releases and libc this build has binaries for, for the failure message. */
  readonly supports: string;
  /**
   * The shortest time this build keeps an idle keep-alive connection, in seconds (a
   * compile-time constant of uWS, swept on a timer): what we may announce in `Keep-Alive`.
   */
  readonly idleTimeoutS: number;
  /** Loads the module; throws when its binary does not load on this machine. */
  load(): unknown;
}

export interface Machine {
  readonly node: string;
  readonly abi: string;
  readonly platform: string;
  readonly arch: string;
  /** glibc's runtime version, or null when this is not glibc (musl, macOS, Windows). */
  readonly glibc: string | null;
}

export type UwsChoice =
  | { readonly ok: true; readonly module: unknown; readonly name: string; readonly idleTimeoutS: number }
  | { readonly ok: false; readonly message: string };

/** The variable naming a uWebSockets.js build the user installed themselves. */
export const UWS_PATH_ENV = 'SWITCHYARD_UWS_PATH';

/** Only the native module exports these C++ helpers; the fallbacks export App and little else. */
export function isNativeUws(mod: unknown): boolean {
  if (mod === null || (typeof mod !== 'object' && typeof mod !== 'function')) return false;
  const m = mod as Record<string, unknown>;
  return typeof m.App === 'function' && typeof m.getParts === 'function' && typeof m.us_listen_socket_close === 'function' && typeof m.us_socket_local_port === 'function';
}

/** The line of a load error that says why: the loader's own text often comes first, the dlopen cause last. */
function cause(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines.find((l) => /GLIBC|shared object|ELF|\.node\b/.test(l)) ?? lines[0] ?? text).replace(/^Error: /, '');
}

/** Tries each candidate in order; the first native one wins. */
export function chooseUws(candidates: readonly UwsCandidate[], machine: Machine, hint: string): UwsChoice {
  const tried: string[] = [];
  for (const c of candidates) {
    let mod: unknown;
    try {
      mod = c.load();
    } catch (err) {
      tried.push(`  - ${c.name}: ${cause(err)}`);
      continue;
    }
    if (isNativeUws(mod)) return { ok: true, module: mod, name: c.name, idleTimeoutS: c.idleTimeoutS };
    tried.push(`  - ${c.name}: loaded, but it is not the native build (a pure-JS fallback); refused`);
  }
  const libc = machine.glibc === null ? 'not glibc' : `glibc ${machine.glibc}`;
  const works = candidates.map((c) => `  - ${c.supports}`);
  const message = [
    `no native uWebSockets.js build loads on Node ${machine.node} (ABI ${machine.abi}, ${machine.platform}-${machine.arch}, ${libc}).`,
    'Tried, in order:',
    ...(tried.length > 0 ? tried : ['  (nothing)']),
    'What works:',
    ...works,
    `  - anything else: install a uWebSockets.js build for your Node yourself (for example the official one, \`npm install uNetworking/uWebSockets.js#v20.57.0\`) and set ${UWS_PATH_ENV} to its directory.`,
    hint,
  ]
    .filter((l) => l !== '')
    .join('\n');
  return { ok: false, message };
}
