import { createHash, timingSafeEqual } from 'node:crypto';
import type { HttpRequest } from './uws.js';

/**
 * Master-key check. Keys are compared as SHA-256 digests with `timingSafeEqual`, so the time
 * taken says nothing about the key, not even its length. Headers accepted are LiteLLM's:
 * `Authorization: Bearer`, `x-api-key`, `api-key`, `x-litellm-api-key`.
 */
export class MasterKeyAuth {
  readonly #digest: Buffer;

  constructor(masterKey: string) {
    this.#digest = createHash('sha256').update(masterKey).digest();
  }

  /** Reads the request's key headers (synchronously: uWS request objects die after the handler). */
  static presentedKey(req: HttpRequest): string {
    const auth = req.getHeader('authorization');
    if (auth !== '') return /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, '').trim() : auth.trim();
    return req.getHeader('x-api-key') || req.getHeader('api-key') || req.getHeader('x-litellm-api-key');
  }

  check(presented: string): boolean {
    if (presented === '') return false;
    return timingSafeEqual(createHash('sha256').update(presented).digest(), this.#digest);
  }
}
