/**
 * The benchmark's mock upstream: as cheap as an OpenAI-shaped server can be, so the figures
 * measure the proxy and not the mock. Runs as a child process:
 *
 *   node dist/bench/upstream.js --port P [--chunk-delay-ms D] [--stream-chunks N]
 *
 * prints `upstream listening on <port>` once bound (P may be 0; the printed port is the real one).
 * POST /v1/chat/completions answers a fixed chat.completion, or, when the body asks for
 * `"stream":true`, an SSE stream of N chunks (default 8) and `data: [DONE]`, all in one corked
 * write. With --chunk-delay-ms the stream's chunks go out D ms apart instead, which keeps many
 * streams open at once for the slow-streams scenario. Every 200 carries the ~20 headers an
 * OpenAI answer does (PROVIDER_HEADERS), as a real upstream would. Request bodies of any size are read
 * (the 128 KB prompt scenario) and scanned for the stream flag chunk by chunk, without
 * copying or decoding them.
 */
import { parseArgs } from 'node:util';
import { assertNativeUws, uWS } from '../src/server/uws.js';
import type { HttpRequest, HttpResponse } from '../src/server/uws.js';

// The proxy's own loader: the same native build on every Node the proxy runs on, or a clear reason.
assertNativeUws();

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'chunk-delay-ms': { type: 'string', default: '0' },
    'stream-chunks': { type: 'string', default: '8' },
  },
});
const port = Number(values.port);
const chunkDelayMs = Number(values['chunk-delay-ms']);
const streamChunks = Math.max(1, Math.floor(Number(values['stream-chunks'])));
if (!Number.isInteger(port) || port < 0 || !(chunkDelayMs >= 0)) {
  console.error('usage: upstream.js --port P [--chunk-delay-ms D] [--stream-chunks N]');
  process.exit(2);
}

// Everything is precomputed: the mock's cost per request must stay flat and small.
const COMPLETION = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1700000000,
    model: 'bench-model',
    system_fingerprint: 'fp_bench',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the bench upstream.', refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 7, completion_tokens: 8, total_tokens: 15 },
  }),
);

/**
 * The headers OpenAI's API sends with every answer besides content-type (ids, rate limits,
 * cookies, CDN headers): about twenty, which every proxy in front has to read past. Written as
 * one uWS header call (uWS writes `name: value` lines as given), so they cost the mock little.
 */
const PROVIDER_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['openai-organization', 'org-bench'],
  ['openai-processing-ms', '312'],
  ['openai-version', '2020-10-01'],
  ['strict-transport-security', 'max-age=31536000; includeSubDomains; preload'],
  ['x-ratelimit-limit-requests', '10000'],
  ['x-ratelimit-limit-tokens', '30000000'],
  ['x-ratelimit-remaining-requests', '9999'],
  ['x-ratelimit-remaining-tokens', '29999980'],
  ['x-ratelimit-reset-requests', '6ms'],
  ['x-ratelimit-reset-tokens', '0s'],
  ['x-request-id', 'req_0123456789abcdef0123456789abcdef'],
  ['cf-cache-status', 'DYNAMIC'],
  ['set-cookie', '__cf_bm=abcdefghijklmnopqrstuvwxyz0123456789; path=/; expires=Tue, 01-Dec-26 17:30:00 GMT; domain=.api.openai.com; HttpOnly; Secure; SameSite=None'],
  ['set-cookie', '_cfuvid=abcdefghijklmnopqrstuvwxyz0123456789-1700000000000-0.0.1.1-604800000; path=/; domain=.api.openai.com; HttpOnly; Secure; SameSite=None'],
  ['x-content-type-options', 'nosniff'],
  ['server', 'cloudflare'],
  ['cf-ray', '8e0123456789abcd-AMS'],
  ['alt-svc', 'h3=":443"; ma=86400'],
  ['access-control-expose-headers', 'X-Request-ID'],
];
const PROVIDER_FIRST = PROVIDER_HEADERS[0]![0];
const PROVIDER_BLOCK = [PROVIDER_HEADERS[0]![1], ...PROVIDER_HEADERS.slice(1).map(([k, v]) => `${k}: ${v}`)].join('\r\n');

function sseChunk(i: number, last: boolean): string {
  const choice = last
    ? { index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }
    : { index: 0, delta: i === 0 ? { role: 'assistant', content: `tok${i} ` } : { content: `tok${i} ` }, logprobs: null, finish_reason: null };
  return `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: 'bench-model', choices: [choice] })}\n\n`;
}

/** Stream frames: N-1 content chunks, one finish chunk; [DONE] follows. */
const FRAMES: readonly Buffer[] = Array.from({ length: streamChunks }, (_, i) => Buffer.from(sseChunk(i, i === streamChunks - 1)));
const DONE = Buffer.from('data: [DONE]\n\n');
const WHOLE_STREAM = Buffer.concat([...FRAMES, DONE]);
const NOT_FOUND = Buffer.from('{"error":{"message":"bench upstream: no such route","type":"invalid_request_error","param":null,"code":"not_found"}}');

// The stream flag as the bench writes it; a re-serialising proxy (JSON.stringify) writes it the
// same way. A pretty-printed `"stream": true` is matched too, see hasStreamFlag.
const STREAM_KEY = Buffer.from('"stream"');
/** Bytes of the previous chunk kept so a flag split across two chunks is still seen. */
const CARRY = 24;

/** True when `buf` holds `"stream"`, optional whitespace, `:`, optional whitespace, `true`. */
function hasStreamFlag(buf: Buffer): boolean {
  for (let at = buf.indexOf(STREAM_KEY); at !== -1; at = buf.indexOf(STREAM_KEY, at + 1)) {
    let i = at + STREAM_KEY.length;
    while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
    if (buf[i] !== 0x3a) continue;
    i++;
    while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
    if (buf[i] === 0x74 && buf[i + 1] === 0x72 && buf[i + 2] === 0x75 && buf[i + 3] === 0x65) return true;
  }
  return false;
}

interface Flow {
  aborted: boolean;
  timer: NodeJS.Timeout | null;
}

function chat(res: HttpResponse, _req: HttpRequest): void {
  const flow: Flow = { aborted: false, timer: null };
  res.onAborted(() => {
    flow.aborted = true;
    if (flow.timer !== null) clearTimeout(flow.timer);
  });
  let streaming = false;
  let carry: Buffer | null = null;
  res.onData((chunk, isLast) => {
    // A view, valid only during this callback (uWS neuters the ArrayBuffer afterwards).
    const view = Buffer.from(chunk);
    if (!streaming) {
      streaming = hasStreamFlag(view) || (carry !== null && hasStreamFlag(Buffer.concat([carry, view.subarray(0, CARRY)])));
      if (!isLast && !streaming) carry = Buffer.from(view.subarray(Math.max(0, view.length - CARRY)));
    }
    if (!isLast) return;
    if (flow.aborted) return;
    if (!streaming) {
      res.cork(() => {
        res.writeStatus('200 OK').writeHeader('content-type', 'application/json').writeHeader(PROVIDER_FIRST, PROVIDER_BLOCK).end(COMPLETION);
      });
    } else if (chunkDelayMs === 0) {
      res.cork(() => {
        // write + end gives a chunked body, as OpenAI's streams are, not a content-length one.
        res.writeStatus('200 OK').writeHeader('content-type', 'text/event-stream').writeHeader('cache-control', 'no-cache').writeHeader(PROVIDER_FIRST, PROVIDER_BLOCK);
        res.write(WHOLE_STREAM);
        res.end();
      });
    } else {
      slowStream(res, flow);
    }
  });
}

function slowStream(res: HttpResponse, flow: Flow): void {
  let i = 0;
  const next = (): void => {
    flow.timer = null;
    if (flow.aborted) return;
    res.cork(() => {
      if (i === 0) res.writeStatus('200 OK').writeHeader('content-type', 'text/event-stream').writeHeader('cache-control', 'no-cache').writeHeader(PROVIDER_FIRST, PROVIDER_BLOCK);
      res.write(FRAMES[i++]!);
      if (i === FRAMES.length) {
        res.write(DONE);
        res.end();
      }
    });
    if (i < FRAMES.length) flow.timer = setTimeout(next, chunkDelayMs);
  };
  next();
}

const app = uWS.App()
  .post('/v1/chat/completions', chat)
  .any('/*', (res) => {
    res.cork(() => {
      res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json').end(NOT_FOUND);
    });
  });

app.listen('127.0.0.1', port, (listenSocket) => {
  if (listenSocket === false) {
    console.error(`upstream: cannot listen on 127.0.0.1:${port}`);
    process.exit(1);
  }
  console.log(`upstream listening on ${uWS.us_socket_local_port(listenSocket)}`);
  const stop = (): void => {
    uWS.us_listen_socket_close(listenSocket);
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
});
