/**
 * Where a deployment takes a Responses API request. OpenAI (`openai/…`, any `api_base`) and
 * Azure speak `/responses` themselves and get the request as the client sent it; every other
 * family is chat-only, so the request goes to its `/chat/completions` and is translated
 * (responses-request.ts, responses-reply.ts, responses-events.ts). That is LiteLLM's split: its
 * native Responses configs cover OpenAI and Azure, and everything else goes through
 * `litellm.completion` via its completion-transformation bridge.
 */
import { buildTarget, type TargetParams, type UpstreamTarget } from './index.js';

/**
 * LiteLLM's `AZURE_DEFAULT_RESPONSES_API_VERSION`: with no `api_version`, Azure's Responses
 * calls go to the v1 API with `api-version=preview`.
 */
export const AZURE_DEFAULT_RESPONSES_API_VERSION = 'preview';

/** Path endings an Azure `api_base` may already carry, longest first; the resource root is what is left. */
const azureSuffixes = ['/openai/v1/responses', '/openai/responses', '/openai/v1', '/openai'];

/**
 * Azure's Responses URL, as LiteLLM's `BaseAzureLLM._get_base_azure_url` builds it:
 * `{resource}/openai/responses?api-version=…`, and for the v1 API versions (`preview`,
 * `latest`; also `v1`, which takes no query) `{resource}/openai/v1/responses`. Unlike chat,
 * the deployment is not in the path: the body's `model` names it.
 */
export function azureResponsesUrl(apiBase: string, apiVersion: string | null): string {
  let root = apiBase;
  while (root.endsWith('/')) root = root.slice(0, -1);
  const deployments = root.indexOf('/openai/deployments');
  if (deployments !== -1) root = root.slice(0, deployments);
  for (const s of azureSuffixes) {
    if (root.endsWith(s)) {
      root = root.slice(0, -s.length);
      break;
    }
  }
  const version = apiVersion ?? AZURE_DEFAULT_RESPONSES_API_VERSION;
  if (version === 'v1') return `${root}/openai/v1/responses`;
  const v1 = version === 'preview' || version === 'latest';
  return `${root}/openai${v1 ? '/v1' : ''}/responses?api-version=${encodeURIComponent(version)}`;
}

/** The Responses target of one deployment: its own `/responses`, or its chat endpoint marked for translation. */
export function responsesTarget(p: TargetParams): UpstreamTarget {
  if (p.family === 'openai') return buildTarget(p, 'responses');
  const chat = buildTarget(p, 'chat');
  if (p.family === 'azure') return { url: azureResponsesUrl(p.apiBase, p.apiVersion), headers: chat.headers };
  return { url: chat.url, headers: chat.headers, viaChat: true };
}
