/**
 * Upstream URLs as `dispatch` takes them: an origin (which picks the keep-alive pool) and a
 * path. Targets are few and fixed (one per deployment and endpoint), so each is parsed once
 * per thread instead of once per call.
 */

const parsed = new Map<string, { origin: string; path: string }>();

/** Origin and path of a target URL. Throws a TypeError (code ERR_INVALID_URL) for a URL that is not one. */
export function split(url: string): { origin: string; path: string } {
  let p = parsed.get(url);
  if (p === undefined) {
    const u = new URL(url);
    p = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (parsed.size < 10_000) parsed.set(url, p);
  }
  return p;
}
