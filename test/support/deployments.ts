/**
 * The one YAML builder for `model_list` entries in end-to-end tests: a deployment of `group`
 * that calls a mock upstream (or any base URL) with a test key.
 */

/** The api_key every built deployment sends; tests assert it never reaches a client. */
export const TEST_API_KEY = 'sk-test-deployment-key';

export type YamlScalar = string | number | boolean;

export interface DeploymentOptions {
  /** More `litellm_params` (rpm, order, weight, prices, ...); strings are written quoted. */
  readonly params?: Readonly<Record<string, YamlScalar>>;
  /** `model_info` entries (id, max_input_tokens, ...). */
  readonly info?: Readonly<Record<string, YamlScalar>>;
  /** `litellm_params.model`; default `openai/m`. */
  readonly model?: string;
}

/** `upstream`: a mock upstream, or its base URL; `/v1` is appended as the OpenAI SDK expects. */
export function deployment(group: string, upstream: string | { readonly url: string }, opts: DeploymentOptions = {}): string {
  const base = typeof upstream === 'string' ? upstream : upstream.url;
  const lines = [
    `  - model_name: ${group}`,
    '    litellm_params:',
    `      model: ${opts.model ?? 'openai/m'}`,
    `      api_base: "${base}/v1"`,
    `      api_key: ${TEST_API_KEY}`,
    ...entries(opts.params, '      '),
  ];
  if (opts.info !== undefined && Object.keys(opts.info).length > 0) lines.push('    model_info:', ...entries(opts.info, '      '));
  return `\n${lines.join('\n')}`;
}

function entries(values: Readonly<Record<string, YamlScalar>> | undefined, indent: string): string[] {
  return Object.entries(values ?? {}).map(([k, v]) => `${indent}${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
}
