/**
 * The "No deployments available" error in LiteLLM's words (types/router.py
 * `RouterRateLimitError`, raised by router_utils/handle_error.py
 * `async_raise_no_deployment_exception`):
 *
 *   No deployments available for selected model, Try again in {cooldown} seconds. Passed
 *   model={model}. pre-call-checks={True|False}, cooldown_list={['id', ...]}
 *
 * `{cooldown}` is the shortest cooldown length among the group's cooling deployments (what
 * LiteLLM stores as each cooldown's `cooldown_time`), else the router's `cooldown_time`. The proxy
 * answers it with 429 and the literal strings "None" as `type` and `param` (ProxyException of
 * a plain ValueError). Where nothing is cooling and our own limits refused the request (rpm/tpm,
 * max_parallel_requests), the number is the time until capacity frees and a sentence says why;
 * LiteLLM has no such case, its limits being soft by default.
 */
import { ProxyError } from '../errors.js';
import { retryAfterHeader } from './retry-after.js';
import type { Unavailable } from './group-actor.js';

/** Seconds as Python prints a number of them: `5`, `2.5`. */
function seconds(ms: number): string {
  const s = Math.round(ms) / 1000;
  return Number.isInteger(s) ? String(s) : String(Number(s.toFixed(3)));
}

/** A Python list of strings, as `str(list)` prints it. */
function pythonList(ids: readonly string[]): string {
  return `[${ids.map((id) => (id.includes("'") ? JSON.stringify(id) : `'${id}'`)).join(', ')}]`;
}

const why: Readonly<Record<Unavailable['reason'], string>> = {
  cooldown: '',
  limits: ' Every deployment is at its rpm/tpm limit for the current window.',
  parallel: ' Every deployment is at its max_parallel_requests and no slot freed in time.',
  none: ' No deployment passed the checks.',
};

export function noDeploymentsError(model: string, u: Unavailable, opts: { readonly preCallChecks: boolean; readonly defaultCooldownMs: number }): ProxyError {
  const wait = u.reason === 'cooldown' ? (u.shortestCooldownMs ?? opts.defaultCooldownMs) : u.retryAfterMs;
  const message =
    `No deployments available for selected model, Try again in ${seconds(wait)} seconds. Passed model=${model}. ` +
    `pre-call-checks=${opts.preCallChecks ? 'True' : 'False'}, cooldown_list=${pythonList(u.cooling)}${why[u.reason]}`;
  return new ProxyError('NO_DEPLOYMENTS', message, { param: 'None', headers: { 'retry-after': retryAfterHeader(u.retryAfterMs) } });
}
