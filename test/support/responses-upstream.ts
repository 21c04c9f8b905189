/**
 * A recording mock of the OpenAI Responses API (`POST …/responses`), for pass-through tests:
 * it answers the way api.openai.com does — a `response` object, or with `stream: true` the
 * event sequence response.created … response.completed, with `event:` lines and no `[DONE]` —
 * and records the path, query, headers and body of every request, whatever its path. Written
 * by hand from OpenAI's API reference, independent of the proxy's own translation code.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ResponsesRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** `ok`: answer with `text`; `status`: fail with that status and an OpenAI error body. */
export type ResponsesBehavior = { kind: 'ok'; text?: string } | { kind: 'status'; status: number };

export interface ResponsesUpstream {
  readonly url: string;
  readonly requests: ResponsesRequest[];
  /** Per request, in order; past the list's end every request gets `ok`. */
  script(behaviors: ResponsesBehavior[]): void;
  close(): Promise<void>;
}

const USAGE = { input_tokens: 11, input_tokens_details: { cached_tokens: 0 }, output_tokens: 4, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 };

function response(model: string, text: string, status: 'in_progress' | 'completed'): Record<string, unknown> {
  const done = status === 'completed';
  return {
    id: 'resp_upstream1',
    object: 'response',
    created_at: 1_700_000_000,
    status,
    error: null,
    incomplete_details: null,
    model,
    output: done ? [{ id: 'msg_upstream1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }] : [],
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    usage: done ? USAGE : null,
  };
}

function sse(model: string, text: string): string {
  let seq = 0;
  const ev = (type: string, fields: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`;
  const item = { id: 'msg_upstream1', type: 'message', status: 'in_progress', role: 'assistant', content: [] };
  const half = Math.ceil(text.length / 2);
  return ev('response.created', { response: response(model, text, 'in_progress') })
    + ev('response.in_progress', { response: response(model, text, 'in_progress') })
    + ev('response.output_item.added', { output_index: 0, item })
    + ev('response.content_part.added', { item_id: item.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } })
    + ev('response.output_text.delta', { item_id: item.id, output_index: 0, content_index: 0, delta: text.slice(0, half) })
    + ev('response.output_text.delta', { item_id: item.id, output_index: 0, content_index: 0, delta: text.slice(half) })
    + ev('response.output_text.done', { item_id: item.id, output_index: 0, content_index: 0, text })
    + ev('response.content_part.done', { item_id: item.id, output_index: 0, content_index: 0, part: { type: 'output_text', text, annotations: [] } })
    + ev('response.output_item.done', { output_index: 0, item: { ...item, status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] } })
    + ev('response.completed', { response: response(model, text, 'completed') });
}

export async function startResponsesUpstream(): Promise<ResponsesUpstream> {
  const requests: ResponsesRequest[] = [];
  let behaviors: ResponsesBehavior[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://mock.invalid');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        /* recorded as {} */
      }
      const n = requests.push({ path: url.pathname, query: url.searchParams, headers: req.headers, body });
      if (req.method !== 'POST' || !url.pathname.endsWith('/responses')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route for ${url.pathname}`, type: 'invalid_request_error', param: null, code: null } }));
        return;
      }
      const b = behaviors[n - 1] ?? { kind: 'ok' };
      if (b.kind === 'status') {
        res.writeHead(b.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `mock responses failure ${b.status}`, type: 'server_error', param: null, code: null } }));
        return;
      }
      const model = typeof body.model === 'string' ? body.model : 'unknown';
      const text = b.text ?? 'Hello from responses';
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' }).end(sse(model, text));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response(model, text, 'completed')));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script(b) {
      behaviors = b;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
