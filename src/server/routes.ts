/**
 * The route table: which paths we serve, with what method, and the model a path may carry.
 * Pure: a path in, a route (or null for an unknown path) out.
 */
import type { Endpoint } from '../providers/index.js';

export type Route =
  | { readonly kind: 'api'; readonly method: 'post'; readonly endpoint: Endpoint; readonly pathModel: string | null }
  | { readonly kind: 'models'; readonly method: 'get'; readonly id: string | null }
  | { readonly kind: 'health'; readonly method: 'get' }
  | { readonly kind: 'model-info'; readonly method: 'get' }
  | { readonly kind: 'model-group-info'; readonly method: 'get' }
  | { readonly kind: 'liveliness'; readonly method: 'get' }
  | { readonly kind: 'readiness'; readonly method: 'get' }
  | { readonly kind: 'routes'; readonly method: 'get' }
  | { readonly kind: 'metrics'; readonly method: 'get' }
  | { readonly kind: 'config-reload'; readonly method: 'post' }
  /** A model name in the path with a malformed percent-escape (`%zz`, a cut-off `%E0%A4%A`). */
  | { readonly kind: 'bad-escape'; readonly method: 'any' };

/** One row of `GET /routes` (LiteLLM's shape: path, methods, name). */
export interface ServedRoute {
  readonly path: string;
  readonly methods: readonly string[];
  readonly name: string;
}

/** Every path `matchRoute` serves, for `GET /routes`; `{model}` stands for a model name. */
export const servedRoutes: readonly ServedRoute[] = [
  ...(['/chat/completions', '/v1/chat/completions', '/openai/deployments/{model}/chat/completions', '/engines/{model}/chat/completions', '/v1/engines/{model}/chat/completions'] as const)
    .map((path) => ({ path, methods: ['POST'], name: 'chat_completion' })),
  ...(['/completions', '/v1/completions', '/openai/deployments/{model}/completions', '/engines/{model}/completions', '/v1/engines/{model}/completions'] as const)
    .map((path) => ({ path, methods: ['POST'], name: 'completion' })),
  ...(['/embeddings', '/v1/embeddings', '/openai/deployments/{model}/embeddings', '/engines/{model}/embeddings', '/v1/engines/{model}/embeddings'] as const)
    .map((path) => ({ path, methods: ['POST'], name: 'embeddings' })),
  ...(['/responses', '/v1/responses'] as const).map((path) => ({ path, methods: ['POST'], name: 'responses_api' })),
  ...(['/models', '/v1/models', '/models/{model}', '/v1/models/{model}'] as const).map((path) => ({ path, methods: ['GET'], name: 'model_list' })),
  ...(['/model/info', '/v1/model/info'] as const).map((path) => ({ path, methods: ['GET'], name: 'model_info' })),
  ...(['/model_group/info', '/v1/model_group/info'] as const).map((path) => ({ path, methods: ['GET'], name: 'model_group_info' })),
  { path: '/health', methods: ['GET'], name: 'health_endpoint' },
  { path: '/health/liveliness', methods: ['GET'], name: 'health_liveliness' },
  { path: '/health/liveness', methods: ['GET'], name: 'health_liveliness' },
  { path: '/health/readiness', methods: ['GET'], name: 'health_readiness' },
  { path: '/routes', methods: ['GET'], name: 'get_routes' },
];

/** The `GET /routes` body, built once. */
export const routesBody = JSON.stringify({ routes: servedRoutes });

const badEscape: Route = { kind: 'bad-escape', method: 'any' };

/** `decodeURIComponent` without the URIError: null for a malformed escape or invalid UTF-8. */
function decodePathPart(part: string): string | null {
  if (!part.includes('%')) return part;
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

const apiPaths: Readonly<Record<string, Endpoint>> = {
  '/chat/completions': 'chat',
  '/v1/chat/completions': 'chat',
  '/completions': 'completions',
  '/v1/completions': 'completions',
  '/embeddings': 'embeddings',
  '/v1/embeddings': 'embeddings',
  '/responses': 'responses',
  '/v1/responses': 'responses',
};
const apiSuffixes: ReadonlyArray<readonly [string, Endpoint]> = [
  ['/chat/completions', 'chat'],
  ['/completions', 'completions'],
  ['/embeddings', 'embeddings'],
];

/** Maps a path to its route; null for unknown paths. */
export function matchRoute(rawPath: string): Route | null {
  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  const endpoint = apiPaths[path];
  if (endpoint) return { kind: 'api', method: 'post', endpoint, pathModel: null };
  switch (path) {
    case '/models':
    case '/v1/models':
      return { kind: 'models', method: 'get', id: null };
    case '/health/liveliness':
    case '/health/liveness':
      return { kind: 'liveliness', method: 'get' };
    case '/health/readiness':
      return { kind: 'readiness', method: 'get' };
    case '/routes':
      return { kind: 'routes', method: 'get' };
    case '/health':
      return { kind: 'health', method: 'get' };
    case '/metrics':
      return { kind: 'metrics', method: 'get' };
    case '/config/reload':
      return { kind: 'config-reload', method: 'post' };
    case '/model/info':
    case '/v1/model/info':
      return { kind: 'model-info', method: 'get' };
    case '/model_group/info':
    case '/v1/model_group/info':
      return { kind: 'model-group-info', method: 'get' };
  }
  // Azure-style and legacy engine paths carry the model in the path: /openai/deployments/{model}/chat/completions.
  for (const prefix of ['/openai/deployments/', '/engines/', '/v1/engines/']) {
    if (!path.startsWith(prefix)) continue;
    for (const [suffix, ep] of apiSuffixes) {
      if (path.endsWith(suffix) && path.length > prefix.length + suffix.length) {
        const model = decodePathPart(path.slice(prefix.length, path.length - suffix.length));
        if (model === null) return badEscape;
        if (!model.includes('/')) return { kind: 'api', method: 'post', endpoint: ep, pathModel: model };
      }
    }
  }
  if (path.startsWith('/v1/models/') || path.startsWith('/models/')) {
    const id = decodePathPart(path.slice(path.indexOf('/models/') + 8));
    return id === null ? badEscape : { kind: 'models', method: 'get', id };
  }
  return null;
}

