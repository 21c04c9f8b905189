/**
 * A request's prompt tokens, counted at most once per body and tokenizer model: the
 * context-window pre-call check and the tpm check share the count, and a retry or a fallback
 * to a group with the same model reuses it. Counting runs in the worker pool (js-tiktoken,
 * upstream/tokens.ts), so the main thread never tokenizes.
 *
 * The count is only worth making when it can change a decision: `upperBound` is a bound on
 * the count that costs nothing (a token is at least one byte of the text it encodes, and the
 * JSON around the text outweighs the chat framing the count adds), so admission asks the
 * actor whether a prompt of that size could be refused by some tpm before counting at all.
 */
import type { Dispatcher } from '../upstream/dispatch.js';

/**
 * Added to the body's size for the bound: the per-message framing of OpenAI's chat heuristic
 * (3 tokens a message, 3 for the reply) is covered by each message's own JSON except in
 * degenerate bodies such as `[{},{}]`, which this covers.
 */
const BOUND_SLACK = 16;

export class PromptTokens {
  readonly #dispatcher: Dispatcher;
  /** body → tokenizer model → count. Weak: a body's counts go when its request does. */
  readonly #counted = new WeakMap<ArrayBuffer, Map<string, Promise<number>>>();

  constructor(dispatcher: Dispatcher) {
    this.#dispatcher = dispatcher;
  }

  /** Never below the count `count` would give for this body. */
  static upperBound(body: ArrayBuffer): number {
    return body.byteLength + BOUND_SLACK;
  }

  /** The prompt tokens of `body` as counted for `model`'s tokenizer. */
  count(body: ArrayBuffer, model: string): Promise<number> {
    let byModel = this.#counted.get(body);
    if (byModel === undefined) {
      byModel = new Map();
      this.#counted.set(body, byModel);
    }
    let n = byModel.get(model);
    if (n === undefined) {
      // A copy: the worker takes the buffer it is given, and the request still needs its own.
      n = this.#dispatcher.countTokens(body.slice(0), model);
      byModel.set(model, n);
      // A failed count is not kept: the next attempt asks again.
      n.catch(() => byModel.delete(model));
    }
    return n;
  }
}
