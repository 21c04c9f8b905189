/**
 * LiteLLM's batch completions on /chat/completions (proxy `route_request`, router
 * `abatch_completion` / `abatch_completion_fastest_response`): a `model` of comma-separated
 * group names sends the same request to each group at once, each with its own retries and
 * fallbacks.
 *
 *   - By default the answer is a JSON list, one entry per name in the order given: the
 *     group's completion, or, where that group failed, its OpenAI error envelope
 *     (`{"error":{…}}`) in its place (LiteLLM puts the exception there). Every group
 *     failing is an error, the first group's status, with each group's cause in the message.
 *   - `fastest_response: true` answers with the first group to succeed (for a stream: the
 *     first to start) and cancels the others: their upstream calls are aborted, which counts
 *     against no deployment. The answer carries `x-litellm-fastest_response_batch_completion:
 *     True` and names the winning group in `model` and `x-litellm-model-group`. All failing:
 *     the first group's status, LiteLLM's "All tasks failed" with each cause.
 *
 * A name that is itself a model group (a group may be called `a,b`) is routed as that group.
 * Only chat completions batch, as in LiteLLM; elsewhere a comma is part of a name.
 */
import { envelopeJson, ProxyError, proxyErrorBody, type ErrorEnvelope } from '../errors.js';
import type { StreamHandle } from '../upstream/dispatch.js';
import type { Usage } from '../upstream/wire.js';
import { RequestContext, STREAM_STARTED_BODY, type ApiRequest, type Reply, type StreamConsumer } from './types.js';

/** Groups one request may fan out to (each runs a whole request: retries, fallbacks). */
export const MAX_BATCH_MODELS = 16;

export interface BatchAsk {
  readonly models: readonly string[];
  readonly fastest: boolean;
}

function flag(v: unknown): boolean {
  return v === true || (typeof v === 'string' && v.toLowerCase() === 'true');
}

/**
 * The batch a request asks for; null when it asks for none; a 400 when it asks badly.
 * `isName`: whether a model string routes as it stands (a group, alias or id: not by wildcard).
 */
export function readBatch(req: ApiRequest, isName: (model: string) => boolean): BatchAsk | ProxyError | null {
  if (req.endpoint !== 'chat' || !req.model.includes(',') || isName(req.model)) return null;
  const models = req.model.split(',').map((m) => m.trim());
  if (models.some((m) => m === '')) {
    return new ProxyError('INVALID_REQUEST', `model=${JSON.stringify(req.model)} lists an empty name: a batch is comma-separated model names, such as "gpt-4o,llama3".`, { param: 'model' });
  }
  if (models.length > MAX_BATCH_MODELS) {
    return new ProxyError('INVALID_REQUEST', `model lists ${models.length} models; a batch takes at most ${MAX_BATCH_MODELS}.`, { param: 'model' });
  }
  const fastest = flag(req.json.fastest_response);
  if (req.stream && !fastest) {
    return new ProxyError('INVALID_REQUEST', 'stream: true with several models needs fastest_response: true (one stream answers, not a list of them).', { param: 'stream' });
  }
  return { models, fastest };
}

/** The 400 for a bad batch, as a reply. */
export function batchErrorReply(e: ProxyError): Reply {
  return { status: e.status, body: proxyErrorBody(e), headers: [] };
}

/** One sub-request per group, each with its own context; the client's leaving cancels them all. */
function fanOut(req: ApiRequest, ctx: RequestContext, models: readonly string[]): { subs: ApiRequest[]; kids: RequestContext[] } {
  const subs = models.map((model) => ({ ...req, model }));
  const kids = models.map(() => new RequestContext());
  ctx.setAbort(() => {
    for (const k of kids) k.abort();
  });
  return { subs, kids };
}

function text(body: ArrayBuffer | string): string {
  return typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
}

function envelopeOf(r: Reply): ErrorEnvelope {
  try {
    const e = (JSON.parse(text(r.body)) as { error?: ErrorEnvelope }).error;
    if (e !== undefined && typeof e.message === 'string') return e;
  } catch {
    /* not an envelope */
  }
  return { message: `HTTP ${r.status}`, type: 'api_error', param: null, code: String(r.status) };
}

/** Every group failed: the first one's status and type, every group's cause in the message. */
function allFailed(models: readonly string[], replies: readonly Reply[], lead: string): Reply {
  const first = replies[0]!;
  const envelope = envelopeOf(first);
  const causes = replies.map((r, i) => `${i + 1}. ${models[i]}: ${r.status} ${envelopeOf(r).message}`).join('; ');
  return { status: first.status, body: envelopeJson({ ...envelope, message: `${lead}: ${causes}` }), headers: first.headers };
}

const FASTEST_HEADER = 'x-litellm-fastest_response_batch_completion';

/** `model: "a,b"` without `fastest_response`: every group's answer, in order, as one JSON list. */
export async function batchList(req: ApiRequest, ctx: RequestContext, ask: BatchAsk, run: (req: ApiRequest, ctx: RequestContext) => Promise<Reply | null>): Promise<Reply | null> {
  const { subs, kids } = fanOut(req, ctx, ask.models);
  let replies: (Reply | null)[];
  try {
    replies = await Promise.all(subs.map((s, i) => run(s, kids[i]!)));
  } finally {
    ctx.setAbort(null);
  }
  if (ctx.aborted || replies.some((r) => r === null)) return null;
  const done = replies as Reply[];
  if (done.every((r) => r.status >= 400)) return allFailed(ask.models, done, `All ${done.length} models of the batch failed`);
  return { status: 200, body: `[${done.map((r) => text(r.body)).join(',')}]`, headers: [] };
}

/**
 * Runs every group at once and settles on the first that `won` accepts; the rest are
 * cancelled. Resolves with the winner's index and reply, or with every reply when none won
 * (null: the client left).
 */
function race(
  subs: readonly ApiRequest[],
  kids: readonly RequestContext[],
  ctx: RequestContext,
  run: (req: ApiRequest, ctx: RequestContext, i: number) => Promise<Reply | null>,
): Promise<{ winner: number; reply: Reply } | { replies: Reply[] } | null> {
  return new Promise((resolve, reject) => {
    let pending = subs.length;
    let settled = false;
    const replies: (Reply | null)[] = new Array(subs.length).fill(null);
    const finish = (v: { winner: number; reply: Reply } | { replies: Reply[] } | null): void => {
      settled = true;
      // A winning stream is still running: the client's leaving cancels it.
      const w = v !== null && 'winner' in v ? kids[v.winner]! : null;
      ctx.setAbort(w === null ? null : () => w.abort());
      resolve(v);
    };
    subs.forEach((s, i) => {
      run(s, kids[i]!, i).then(
        (r) => {
          replies[i] = r;
          pending--;
          if (settled) return;
          if (r !== null && r.status < 400) {
            // The others' upstream calls are cancelled; a cancel never counts against a deployment.
            kids.forEach((k, j) => {
              if (j !== i) k.abort();
            });
            finish({ winner: i, reply: r });
          } else if (pending === 0) {
            finish(ctx.aborted || replies.some((x) => x === null) ? null : { replies: replies as Reply[] });
          }
        },
        (err: unknown) => {
          pending--;
          if (settled) return;
          settled = true;
          for (const k of kids) k.abort();
          ctx.setAbort(null);
          reject(err);
        },
      );
    });
  });
}

function fastestHeaders(reply: Reply): string[] {
  return [...reply.headers, FASTEST_HEADER, 'True'];
}

/** `fastest_response: true`: the first group to succeed answers; the others are cancelled. */
export async function batchFastest(req: ApiRequest, ctx: RequestContext, ask: BatchAsk, run: (req: ApiRequest, ctx: RequestContext) => Promise<Reply | null>): Promise<Reply | null> {
  const { subs, kids } = fanOut(req, ctx, ask.models);
  const out = await race(subs, kids, ctx, (s, c) => run(s, c));
  if (out === null || ctx.aborted) return null;
  if ('replies' in out) return allFailed(ask.models, out.replies, 'All tasks failed');
  return { ...out.reply, headers: fastestHeaders(out.reply) };
}

/**
 * One group's side of a streaming race: holds what its attempts send until the group wins,
 * then replays it to the client's consumer and passes the rest straight through.
 */
class Gate implements StreamConsumer {
  readonly #out: StreamConsumer;
  #open = false;
  #handle: StreamHandle | null = null;
  #held: Array<() => void> = [];

  constructor(out: StreamConsumer) {
    this.#out = out;
  }

  bind(handle: StreamHandle): void {
    if (this.#open) this.#out.bind(handle);
    else this.#handle = handle;
  }

  /** The plan's caller starts the stream (`win`), never an attempt. */
  start(): void {}

  data(text: string): void {
    if (this.#open) this.#out.data(text);
    else this.#held.push(() => this.#out.data(text));
  }

  end(usage: Usage | null): void {
    if (this.#open) this.#out.end(usage);
    else this.#held.push(() => this.#out.end(usage));
  }

  error(body: string, status: number): void {
    if (this.#open) this.#out.error(body, status);
    else this.#held.push(() => this.#out.error(body, status));
  }

  /** The plan's caller answers a failure, never an attempt. */
  reply(): void {}

  /** This group won: the client's stream starts with `headers`, then gets what was held. */
  win(headers: readonly string[]): void {
    this.#open = true;
    if (this.#handle !== null) this.#out.bind(this.#handle);
    this.#out.start(headers);
    const held = this.#held;
    this.#held = [];
    for (const f of held) f();
  }
}

/** `fastest_response: true` with `stream: true`: the first group whose stream starts is relayed; the others are cancelled. */
export async function batchFastestStream(
  req: ApiRequest,
  ctx: RequestContext,
  ask: BatchAsk,
  consumer: StreamConsumer,
  run: (req: ApiRequest, ctx: RequestContext, consumer: StreamConsumer) => Promise<Reply | null>,
): Promise<void> {
  const { subs, kids } = fanOut(req, ctx, ask.models);
  const gates = subs.map(() => new Gate(consumer));
  const out = await race(subs, kids, ctx, (s, c, i) => run(s, c, gates[i]!));
  if (out === null || ctx.aborted) return;
  if ('replies' in out) {
    consumer.reply(allFailed(ask.models, out.replies, 'All tasks failed'));
    return;
  }
  if (out.reply.body === STREAM_STARTED_BODY) gates[out.winner]!.win(fastestHeaders(out.reply));
  else consumer.reply({ ...out.reply, headers: fastestHeaders(out.reply) });
}
