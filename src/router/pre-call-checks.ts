/**
 * `enable_pre_call_checks` (LiteLLM's router `_pre_call_checks`): before a pick, the
 * deployments of a group that cannot serve this request are set aside, in LiteLLM's order:
 *
 *   1. context window: the prompt's tokens over the deployment's `max_input_tokens`;
 *   2. (rpm: the actor enforces it for every request, checks on or off);
 *   3. region: a request's `allowed_model_region` keeps only deployments whose
 *      `litellm_params.region_name` equals it (one without a region is not in it);
 *   4. `response_format`: deployments that do not take it (config/response-format.ts),
 *      unless `litellm_settings.drop_params` is set.
 *
 * All set aside: a context-window error (400, which `context_window_fallbacks` rescue) when
 * the window set any aside, else 429 "No deployments available". Embeddings carry no
 * messages and are not checked, as in LiteLLM; nor is a request naming a deployment id.
 */
import { ProxyError } from '../errors.js';
import type { GroupActor } from './group-actor.js';
import type { PromptTokens } from './prompt-tokens.js';
import type { ApiRequest } from './types.js';

/** What the checks leave: the deployments allowed (null = all), and the prompt's tokens when they were counted. */
export interface Checked {
  readonly allow: ReadonlySet<string> | null;
  readonly tokens: number | null;
}

const allPass: Checked = { allow: null, tokens: null };

export class PreCallChecks {
  readonly #tokens: PromptTokens;
  readonly #dropParams: boolean;

  constructor(tokens: PromptTokens, opts: { readonly dropParams: boolean }) {
    this.#tokens = tokens;
    this.#dropParams = opts.dropParams;
  }

  async check(req: ApiRequest, body: ArrayBuffer, model: string, actor: GroupActor): Promise<Checked | ProxyError> {
    if (req.endpoint === 'embeddings') return allPass;
    const asked = req.json.allowed_model_region;
    const region = typeof asked === 'string' && asked !== '' ? asked : null;
    const format = req.endpoint === 'chat' && req.json.response_format !== undefined && req.json.response_format !== null && !this.#dropParams;
    const deployments = actor.deployments;
    const windows = deployments.some((d) => d.cfg.maxInputTokens !== null);
    if (!windows && region === null && !format) return allPass;
    const tokens = windows ? await this.#tokens.count(body, deployments[0]!.cfg.upstreamModel) : null;
    const allow = new Set<string>();
    let tooSmall = 0;
    let elsewhere = 0;
    let noFormat = 0;
    let smallest = Number.POSITIVE_INFINITY;
    for (const d of deployments) {
      const max = d.cfg.maxInputTokens;
      if (tokens !== null && max !== null && tokens > max) {
        tooSmall++;
        smallest = Math.min(smallest, max);
        continue;
      }
      if (region !== null && (d.cfg.regionName ?? null) !== region) {
        elsewhere++;
        continue;
      }
      if (format && d.cfg.servesResponseFormat === false) {
        noFormat++;
        continue;
      }
      allow.add(d.id);
    }
    if (allow.size === 0) {
      if (tooSmall > 0) {
        return new ProxyError(
          'CONTEXT_WINDOW_EXCEEDED',
          `litellm.ContextWindowExceededError: the prompt has about ${tokens} tokens; every deployment of ${model} takes at most ${smallest}.`,
          { param: 'messages' },
        );
      }
      const why = [
        elsewhere > 0 ? `${elsewhere} not in allowed_model_region=${JSON.stringify(region)} (their region_name differs)` : null,
        noFormat > 0 ? `${noFormat} without response_format support (litellm_settings.drop_params keeps them)` : null,
      ].filter((s) => s !== null).join('; ');
      return new ProxyError('NO_DEPLOYMENTS', `No deployments available for selected model. Passed model=${model}. pre-call-checks=True: ${why}.`, {
        param: elsewhere > 0 ? 'allowed_model_region' : 'response_format',
      });
    }
    return { allow: allow.size === deployments.length ? null : allow, tokens };
  }
}
