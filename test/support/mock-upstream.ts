/**
 * A recording mock of the OpenAI and Azure OpenAI HTTP APIs for end-to-end tests.
 *
 * It speaks the response shapes the official clients parse (chat.completion, text_completion,
 * embeddings list, chat.completion.chunk SSE, a plain Responses `response`) and can be told,
 * per request, to be slow, fail with any status, hang, stream slowly, or die mid-stream. Every request is recorded — even
 * ones to unknown routes, so a test can see a proxy calling the wrong path — before its
 * behavior runs, and `aborted` records whether the client went away before we finished, which
 * is how tests prove a client disconnect cancels the upstream call.
 *
 * node:http on purpose: the proxy's own server is uWS, and the mock must not share its bugs.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or the raw string when it is not JSON (including ''). */
  body: unknown;
  rawBody: string;
  /** True once the client closed before we answered or finished streaming. */
  aborted: boolean;
}

export interface MockUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export type Behavior =
  /** `headers`: extra response headers, names written as given; an array sends one line per value. */
  | { kind: 'ok'; content?: string; delayMs?: number; usage?: MockUsage; headers?: Record<string, string | string[]> }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string | string[]>; delayMs?: number }
  /** Accept and never answer, until the client goes away. */
  | { kind: 'hang' }
  /**
   * `dieAfter`: destroy the socket after that many content chunks (0 = right after the headers).
   * `texts`: each content chunk's text (default `tok<i> `). `errorAfter`: after that many content
   * chunks, send an SSE error event with `status` as its code and end the response (no [DONE]).
   */
  | {
      kind: 'stream'; chunks: number; chunkDelayMs?: number; firstByteDelayMs?: number; dieAfter?: number; usage?: boolean; headers?: Record<string, string | string[]>;
      texts?: readonly string[]; errorAfter?: { readonly chunks: number; readonly status: number };
    }
  /** Destroy the socket without any response. */
  | { kind: 'destroy' };

export type BehaviorSource = Behavior | ((req: RecordedRequest) => Behavior);

export interface MockUpstream {
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  requests: RecordedRequest[];
  setBehavior(b: BehaviorSource): void;
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  /** Resolves when requests[index].aborted becomes true. */
  waitForAbort(index: number, timeoutMs?: number): Promise<void>;
  /** Clears the recorded requests (same array) and sets the behavior back to ok. */
  reset(): void;
  close(): Promise<void>;
}

type Endpoint = 'chat' | 'completions' | 'embeddings' | 'responses';

interface Route {
  endpoint: Endpoint;
  /** Azure deployment name from the path, used as the model when the body names none. */
  deployment: string | null;
}

const DEFAULT_CONTENT = 'Hello from mock';
const DEFAULT_USAGE: MockUsage = { prompt_tokens: 7, completion_tokens: 5 };
const DEFAULT_ERROR_BODY = { error: { message: 'mock failure', type: 'server_error', param: null, code: null } };
const DEFAULT_WAIT_MS = 5000;
/** Chunks a plain `ok` behavior streams when the request asks for `stream: true`. */
const DEFAULT_STREAM_CHUNKS = 3;

const OPENAI_PATHS: Readonly<Record<string, Endpoint>> = {
  '/v1/chat/completions': 'chat',
  '/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/completions': 'completions',
  '/v1/embeddings': 'embeddings',
  '/embeddings': 'embeddings',
  // The Responses API, answered plainly (one message, usage); test/support/responses-upstream.ts scripts it in full.
  '/v1/responses': 'responses',
  '/responses': 'responses',
};

const AZURE_PATH = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/;

function matchRoute(method: string, path: string): Route | null {
  if (method !== 'POST') return null;
  const endpoint = OPENAI_PATHS[path];
  if (endpoint !== undefined) return { endpoint, deployment: null };
  const m = AZURE_PATH.exec(path);
  if (m === null) return null;
  const kind = m[2]!;
  return { endpoint: kind === 'chat/completions' ? 'chat' : kind === 'completions' ? 'completions' : 'embeddings', deployment: decodeURIComponent(m[1]!) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseBody(raw: string): unknown {
  if (raw === '') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function modelOf(req: RecordedRequest, route: Route): string {
  if (isRecord(req.body) && typeof req.body.model === 'string') return req.body.model;
  return route.deployment ?? 'mock-model';
}

function wantsStream(req: RecordedRequest): boolean {
  return isRecord(req.body) && req.body.stream === true;
}

function wantsStreamUsage(req: RecordedRequest): boolean {
  if (!isRecord(req.body)) return false;
  const opts = req.body.stream_options;
  return isRecord(opts) && opts.include_usage === true;
}

/** OpenAI answers one embedding per input; a flat array of numbers is one tokenized input. */
function embeddingInputCount(body: unknown): number {
  if (!isRecord(body)) return 1;
  const input = body.input;
  if (!Array.isArray(input)) return 1;
  if (input.length > 0 && input.every((x) => typeof x === 'number')) return 1;
  return Math.max(1, input.length);
}

function usageJson(u: MockUsage): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.prompt_tokens + u.completion_tokens };
}

/** A finished Responses object as its shortest valid event stream (created, each item added and done, completed). */
function responsesEvents(resp: Record<string, unknown>): string {
  let seq = 0;
  const ev = (type: string, fields: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`;
  const output = resp.output as unknown[];
  let out = ev('response.created', { response: { ...resp, status: 'in_progress', output: [], usage: null } });
  output.forEach((item, i) => {
    out += ev('response.output_item.added', { output_index: i, item }) + ev('response.output_item.done', { output_index: i, item });
  });
  return out + ev('response.completed', { response: resp });
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export async function startMockUpstream(): Promise<MockUpstream> {
  const requests: RecordedRequest[] = [];
  let behavior: BehaviorSource = { kind: 'ok' };
  let seq = 0;
  /** Wakes every pending waitFor*; each re-checks its own condition. */
  const waiters = new Set<() => void>();
  /** Delays and chunk timers, cleared on close so nothing fires into a dead server. */
  const timers = new Set<NodeJS.Timeout>();

  const notify = (): void => {
    for (const w of [...waiters]) w();
  };

  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const waitUntil = (cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (cond()) return resolve();
      const check = (): void => {
        if (!cond()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`mock upstream: timed out after ${timeoutMs} ms waiting for ${what()}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
    });

  const server: Server = createServer((req, res) => {
    handle(req, res);
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const id = ++seq;
    const chunks: Buffer[] = [];
    let recorded: RecordedRequest | null = null;
    let bodyDone = false;
    /** Set when the mock itself kills the socket (destroy, dieAfter): that is not a client abort. */
    let selfClosed = false;

    const record = (): RecordedRequest => {
      const url = req.url ?? '/';
      const parsed = new URL(url, 'http://mock.invalid');
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const r: RecordedRequest = {
        method: req.method ?? 'GET',
        url,
        path: parsed.pathname,
        query: parsed.searchParams,
        headers: req.headers,
        body: parseBody(rawBody),
        rawBody,
        aborted: false,
      };
      requests.push(r);
      return r;
    };

    // 'close' before the response finished means the peer went away: while we delayed, hung,
    // streamed, or even before the body arrived (then the partial request is still recorded).
    res.on('close', () => {
      if (res.writableFinished || selfClosed) return;
      recorded ??= record();
      recorded.aborted = true;
      notify();
    });

    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (bodyDone || recorded !== null) return;
      bodyDone = true;
      recorded = record();
      notify();
      const route = matchRoute(recorded.method, recorded.path);
      if (route === null) {
        sendJson(res, 404, {
          error: { message: `mock upstream: no route for ${recorded.method} ${recorded.path}`, type: 'invalid_request_error', param: null, code: 'not_found' },
        });
        return;
      }
      const b = typeof behavior === 'function' ? behavior(recorded) : behavior;
      run(b, recorded, route, res, id, () => {
        selfClosed = true;
      });
    });
    req.on('error', () => {
      // A reset mid-body surfaces here and then as res 'close'; nothing more to do.
    });
  }

  function run(b: Behavior, r: RecordedRequest, route: Route, res: ServerResponse, id: number, markSelfClosed: () => void): void {
    // Extra response headers (ok and stream behaviors), merged into whatever writeHead sends.
    if ((b.kind === 'ok' || b.kind === 'stream') && b.headers) for (const [k, v] of Object.entries(b.headers)) res.setHeader(k, v);
    switch (b.kind) {
      case 'ok': {
        const usage = b.usage ?? DEFAULT_USAGE;
        const go = (): void => {
          if (res.destroyed) return;
          if (wantsStream(r) && route.endpoint === 'responses') {
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            res.end(responsesEvents(okBody(r, route, id, b.content ?? DEFAULT_CONTENT, usage) as Record<string, unknown>));
          } else if (wantsStream(r) && route.endpoint !== 'embeddings') {
            stream(res, r, route, id, { chunks: DEFAULT_STREAM_CHUNKS, usage: wantsStreamUsage(r) ? usage : null }, markSelfClosed);
          } else {
            sendJson(res, 200, okBody(r, route, id, b.content ?? DEFAULT_CONTENT, usage));
          }
        };
        if (b.delayMs !== undefined && b.delayMs > 0) later(b.delayMs, go);
        else go();
        return;
      }
      case 'status': {
        const go = (): void => {
          if (res.destroyed) return;
          const body = b.body ?? DEFAULT_ERROR_BODY;
          const isText = typeof body === 'string';
          const payload = isText ? body : JSON.stringify(body);
          res.writeHead(b.status, {
            'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json',
            'content-length': Buffer.byteLength(payload),
            ...b.headers,
          });
          res.end(payload);
        };
        if (b.delayMs !== undefined && b.delayMs > 0) later(b.delayMs, go);
        else go();
        return;
      }
      case 'hang':
        return;
      case 'destroy':
        markSelfClosed();
        res.socket?.destroy();
        return;
      case 'stream': {
        const usage = b.usage === true || wantsStreamUsage(r) ? { prompt_tokens: DEFAULT_USAGE.prompt_tokens, completion_tokens: b.chunks } : null;
        const opts: StreamOptions = { chunks: b.chunks, usage };
        if (b.chunkDelayMs !== undefined) opts.chunkDelayMs = b.chunkDelayMs;
        if (b.dieAfter !== undefined) opts.dieAfter = b.dieAfter;
        if (b.texts !== undefined) opts.texts = b.texts;
        if (b.errorAfter !== undefined) opts.errorAfter = b.errorAfter;
        const go = (): void => {
          if (!res.destroyed) stream(res, r, route, id, opts, markSelfClosed);
        };
        if (b.firstByteDelayMs !== undefined && b.firstByteDelayMs > 0) later(b.firstByteDelayMs, go);
        else go();
        return;
      }
    }
  }

  interface StreamOptions {
    chunks: number;
    usage: MockUsage | null;
    chunkDelayMs?: number;
    dieAfter?: number;
    texts?: readonly string[];
    errorAfter?: { readonly chunks: number; readonly status: number };
  }

  function stream(res: ServerResponse, r: RecordedRequest, route: Route, id: number, o: StreamOptions, markSelfClosed: () => void): void {
    const model = modelOf(r, route);
    const created = nowSeconds();
    const chat = route.endpoint === 'chat';
    const cid = chat ? `chatcmpl-mock-${id}` : `cmpl-mock-${id}`;
    const frame = (choice: Record<string, unknown> | null, usage?: MockUsage): string => {
      const base = { id: cid, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model };
      const obj = usage !== undefined ? { ...base, choices: [], usage: usageJson(usage) } : { ...base, choices: [choice] };
      return `data: ${JSON.stringify(obj)}\n\n`;
    };
    const textOf = (i: number): string => o.texts?.[i] ?? `tok${i} `;
    const contentChoice = (i: number): Record<string, unknown> =>
      chat
        ? { index: 0, delta: i === 0 ? { role: 'assistant', content: textOf(i) } : { content: textOf(i) }, logprobs: null, finish_reason: null }
        : { index: 0, text: textOf(i), logprobs: null, finish_reason: null };

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });

    const die = (): void => {
      markSelfClosed();
      res.socket?.destroy();
    };
    if (o.dieAfter === 0) {
      // Headers out, then nothing: the "died before the first byte of content" case.
      // Socket writes are ordered, so an empty write's callback runs once the headers are out.
      res.flushHeaders();
      if (res.socket === null) die();
      else res.socket.write('', die);
      return;
    }

    let i = 0;
    const step = (): void => {
      if (res.destroyed) return;
      if (o.errorAfter !== undefined && i >= o.errorAfter.chunks) {
        const code = o.errorAfter.status;
        res.end(`data: ${JSON.stringify({ error: { message: `mock mid-stream failure ${code}`, type: 'server_error', param: null, code } })}\n\n`);
        return;
      }
      if (i < o.chunks) {
        const n = i++;
        const last = o.dieAfter !== undefined && i >= o.dieAfter;
        // Destroy only once the chunk is flushed, or the client would never see it.
        res.write(frame(contentChoice(n)), last ? die : undefined);
        if (last) return;
        if (o.chunkDelayMs !== undefined && o.chunkDelayMs > 0) later(o.chunkDelayMs, step);
        else step();
        return;
      }
      let tail = frame(chat ? { index: 0, delta: {}, logprobs: null, finish_reason: 'stop' } : { index: 0, text: '', logprobs: null, finish_reason: 'stop' });
      if (o.usage !== null) tail += frame(null, o.usage);
      res.end(`${tail}data: [DONE]\n\n`);
    };
    step();
  }

  function okBody(r: RecordedRequest, route: Route, id: number, content: string, usage: MockUsage): unknown {
    const model = modelOf(r, route);
    const created = nowSeconds();
    switch (route.endpoint) {
      case 'chat':
        return {
          id: `chatcmpl-mock-${id}`,
          object: 'chat.completion',
          created,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
          usage: usageJson(usage),
        };
      case 'completions':
        return {
          id: `cmpl-mock-${id}`,
          object: 'text_completion',
          created,
          model,
          choices: [{ index: 0, text: content, logprobs: null, finish_reason: 'stop' }],
          usage: usageJson(usage),
        };
      case 'responses':
        return {
          id: `resp_mock${id}`,
          object: 'response',
          created_at: created,
          status: 'completed',
          model,
          output: [{ id: `msg_mock${id}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: content, annotations: [] }] }],
          usage: { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens, total_tokens: usage.prompt_tokens + usage.completion_tokens },
        };
      case 'embeddings': {
        const n = embeddingInputCount(r.body);
        const data = [];
        for (let i = 0; i < n; i++) data.push({ object: 'embedding', index: i, embedding: [0.1, 0.2, 0.3] });
        return { object: 'list', data, model, usage: { prompt_tokens: usage.prompt_tokens, total_tokens: usage.prompt_tokens } };
      }
    }
  }

  function sendJson(res: ServerResponse, status: number, body: unknown): void {
    const payload = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setBehavior(b: BehaviorSource): void {
      behavior = b;
    },
    waitForRequests(n: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
      return waitUntil(() => requests.length >= n, timeoutMs, () => `${n} request(s), got ${requests.length}`);
    },
    waitForAbort(index: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
      return waitUntil(
        () => requests[index]?.aborted === true,
        timeoutMs,
        () => (requests[index] === undefined ? `request #${index} to arrive and be aborted` : `request #${index} to be aborted`),
      );
    },
    reset(): void {
      requests.length = 0;
      behavior = { kind: 'ok' };
    },
    close(): Promise<void> {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** `n` mock upstreams, closed by the caller's cleanup list (run in an `after`). */
export async function startMockUpstreams(n: number, cleanups: Array<() => Promise<void> | void>): Promise<MockUpstream[]> {
  const ups = await Promise.all(Array.from({ length: n }, () => startMockUpstream()));
  cleanups.push(async () => {
    for (const u of ups) await u.close();
  });
  return ups;
}
