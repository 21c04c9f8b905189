/**
 * The HTTP front end on uWebSockets.js: routes, bounded body reading, auth, parse and
 * validate, then hand over to the router. Everything here runs on the main thread and does
 * no I/O of its own beyond the client socket.
 */
import { ProxyError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Endpoint } from '../providers/index.js';
import type { ServingRouter } from '../router/live-router.js';
import { RequestContext, type RequestHints } from '../router/types.js';
import type { Dispatcher } from '../upstream/dispatch.js';
import { MasterKeyAuth } from './auth.js';
import { framingProblem } from './framing.js';
import { parseApiRequest, readHints } from './api-request.js';
import { modelGroupInfoBody, modelInfoBody } from './model-info.js';
import { matchRoute, routesBody } from './routes.js';
import { serveMetrics, type MetricsExport } from './metrics-endpoint.js';
import { serveReload, type ReloadOutcome } from './config-reload.js';
import { version } from '../version.js';
import { Cors } from './cors.js';
import { logAborted, newResponseState, writeError, writeInternalError, writeJson, writePreflight, writeReply, type ReplyContext, type ResponseState } from './respond.js';
import { SseRelay } from './sse.js';
import { assertNativeUws, uWS, type HttpRequest, type HttpResponse, type us_listen_socket } from './uws.js';

export interface ServerOptions {
  readonly router: ServingRouter;
  readonly dispatcher: Dispatcher;
  readonly masterKey: string | null;
  readonly maxBodyBytes: number;
  readonly shutdownGraceMs: number;
  /** Redis sync status for readiness; null when the config names no Redis. */
  readonly sharedState?: (() => 'connected' | 'degraded') | null;
  /** `POST /config/reload`; null = 404. */
  readonly reload?: (() => Promise<ReloadOutcome>) | null;
  /** The serving config's version for readiness (`config_version`); null when unknown. */
  readonly configVersion?: (() => string | null) | null;
  /** `GET /metrics`; null = 404 like any unknown route. */
  readonly metrics?: MetricsExport | null;
  /** Where errors thrown while handling a request are reported (they are answered with a 500), and the access log. */
  readonly log?: Logger;
  /** `general_settings.allowed_origins`; default every origin (`*`). */
  readonly allowedOrigins?: readonly string[];
}

const ALIVE = JSON.stringify("I'm alive!");

/** Body bytes reserved up front for a declared Content-Length; larger bodies grow as they arrive. */
const INITIAL_BODY_BYTES = 1 << 20;

/** What a request's read buffer becomes once its body is complete. */
const NO_BYTES = new Uint8Array(0);

/**
 * A standalone buffer that is not zeroed first (a body is written over it as it arrives; only
 * the bytes received are ever read: a short body is copied out with Uint8Array's `slice`).
 */
function uninitialized(n: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
}

export class ProxyServer {
  readonly #opts: ServerOptions;
  readonly #auth: MasterKeyAuth | null;
  readonly #app: ReturnType<typeof uWS.App>;
  #listenSocket: us_listen_socket | null = null;
  #ready = false;
  #draining = false;
  /** Requests between their first byte and their last: what shutdown waits for. */
  #active = 0;
  #idleWaiters: Array<() => void> = [];
  readonly #contexts = new Set<RequestContext>();
  readonly #reply: ReplyContext;

  constructor(opts: ServerOptions) {
    assertNativeUws();
    this.#opts = opts;
    this.#auth = opts.masterKey ? new MasterKeyAuth(opts.masterKey) : null;
    this.#reply = { log: opts.log ?? null, cors: new Cors(opts.allowedOrigins) };
    this.#app = uWS.App();
    this.#app.any('/*', (res, req) => this.#handle(res, req));
  }

  /** Marks the server ready (readiness turns 200) once the dispatcher is up. */
  setReady(ready: boolean): void {
    this.#ready = ready;
  }

  get activeRequests(): number {
    return this.#active;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${host}:${port} (address in use, or not an address of this machine)`));
          return;
        }
        this.#listenSocket = socket;
        resolve(uWS.us_socket_local_port(socket));
      });
    });
  }

  /**
   * Stops accepting connections, lets in-flight requests and streams finish within the
   * grace period, then cancels whatever is left. Resolves when nothing is in flight.
   */
  async close(): Promise<void> {
    this.#draining = true;
    if (this.#listenSocket) {
      uWS.us_listen_socket_close(this.#listenSocket);
      this.#listenSocket = null;
    }
    if (this.#active > 0) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        new Promise<false>((resolve) => this.#idleWaiters.push(() => resolve(false))),
        new Promise<true>((resolve) => {
          timer = setTimeout(() => resolve(true), this.#opts.shutdownGraceMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        for (const ctx of this.#contexts) {
          try {
            ctx.abort();
          } catch (err) {
            this.#opts.log?.error(`cancelling a request at shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
    }
  }

  #begin(): void {
    this.#active++;
  }

  #end(): void {
    this.#active--;
    if (this.#active === 0 && this.#idleWaiters.length > 0) {
      const w = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const f of w) f();
    }
  }

  /**
   * One request went wrong inside the proxy: report it, answer it with a 500 (or a last SSE
   * error event), and leave everything else alone. Every uWS callback and promise continuation
   * of a request ends here on a throw — an exception escaping one of them ends the process.
   */
  #fail(res: HttpResponse, st: ResponseState, err: unknown): void {
    try {
      this.#opts.log?.error(`internal error while handling a request: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, { request_id: st.requestId });
    } catch {
      /* a failing logger must not turn one bad request into a crash */
    }
    writeInternalError(res, st);
  }

  #handle(res: HttpResponse, req: HttpRequest): void {
    const st = newResponseState(this.#reply, req, this.#draining);
    try {
      this.#route(res, req, st);
    } catch (err) {
      // Answering here also satisfies uWS's rule that a handler must respond or attach onAborted.
      this.#fail(res, st, err);
    }
  }

  #route(res: HttpResponse, req: HttpRequest, st: ResponseState): void {
    const badFraming = framingProblem(req);
    if (badFraming !== null) {
      this.#refuseFraming(res, st, badFraming);
      return;
    }
    if (st.method === 'OPTIONS') {
      writePreflight(res, st, req.getHeader('access-control-request-headers'));
      return;
    }
    const route = matchRoute(req.getUrl());
    if (route === null) {
      writeError(res, st, new ProxyError('ROUTE_NOT_FOUND', `No route for ${req.getMethod().toUpperCase()} ${req.getUrl()}. Try POST /v1/chat/completions or GET /v1/models.`));
      return;
    }
    if (route.kind === 'bad-escape') {
      writeError(res, st, new ProxyError('INVALID_REQUEST', `The path ${req.getUrl()} has a malformed percent-escape (each % must start a valid UTF-8 escape such as %2F).`));
      return;
    }
    const method = req.getMethod();
    if (method !== route.method) {
      writeError(res, st, new ProxyError('METHOD_NOT_ALLOWED', `${method.toUpperCase()} is not allowed on ${req.getUrl()}; use ${route.method.toUpperCase()}.`), ['allow', route.method.toUpperCase()]);
      return;
    }
    if (route.kind === 'liveliness') {
      writeJson(res, st, 200, ALIVE);
      return;
    }
    if (route.kind === 'routes') {
      writeJson(res, st, 200, routesBody);
      return;
    }
    if (route.kind === 'readiness') {
      const ready = this.#ready && !this.#draining;
      const shared = this.#opts.sharedState?.() ?? null;
      // Losing Redis degrades (limits per instance) but never stops serving: still 200.
      writeJson(res, st, ready ? 200 : 503, JSON.stringify({
        status: !ready ? (this.#draining ? 'shutting down' : 'starting') : shared === 'degraded' ? 'degraded' : 'healthy',
        workers: this.#opts.dispatcher.threads,
        dispatch: this.#opts.dispatcher.mode,
        redis: shared === null ? 'not configured' : shared,
        version,
        // Dashboards built for LiteLLM read this key.
        litellm_version: version,
        config_version: this.#opts.configVersion?.() ?? null,
      }));
      return;
    }
    const metrics = route.kind === 'metrics' ? (this.#opts.metrics ?? null) : null;
    if (metrics !== null && !metrics.requireAuth) return serveMetrics(res, st, metrics, (err) => this.#fail(res, st, err));
    if (this.#auth && !this.#auth.check(MasterKeyAuth.presentedKey(req))) {
      st.closeConnection = true;
      writeError(res, st, new ProxyError('UNAUTHORIZED', 'Authentication Error: missing or invalid API key. Send it as `Authorization: Bearer <key>` (or in an `x-api-key` / `api-key` header).'));
      return;
    }
    if (route.kind === 'config-reload') {
      const reload = this.#opts.reload ?? null;
      if (reload === null) writeError(res, st, new ProxyError('ROUTE_NOT_FOUND', `No route for POST ${req.getUrl()}.`));
      else serveReload(res, st, reload, (err) => this.#fail(res, st, err));
      return;
    }
    if (route.kind === 'metrics') {
      if (metrics === null) writeError(res, st, new ProxyError('ROUTE_NOT_FOUND', `No route for GET ${req.getUrl()}.`));
      else serveMetrics(res, st, metrics, (err) => this.#fail(res, st, err));
      return;
    }
    if (route.kind === 'health') {
      this.#health(res, st, req.getQuery('model') || undefined, req.getQuery('model_id') || undefined);
      return;
    }
    if (route.kind === 'model-info' || route.kind === 'model-group-info') {
      const config = this.#opts.router.config;
      const info = route.kind === 'model-info'
        ? modelInfoBody(config, { modelId: req.getQuery('litellm_model_id') || undefined })
        : modelGroupInfoBody(config, { modelGroup: req.getQuery('model_group') || undefined });
      writeJson(res, st, info.status, info.body);
      return;
    }
    if (route.kind === 'models') {
      if (route.id === null) {
        writeJson(res, st, 200, this.#opts.router.modelList());
      } else if (this.#opts.router.resolve(route.id)) {
        writeJson(res, st, 200, JSON.stringify({ id: route.id, object: 'model', created: 1677610602, owned_by: 'openai' }));
      } else {
        writeError(res, st, new ProxyError('ROUTE_NOT_FOUND', `Model ${route.id} is not served here; see /v1/models.`, { param: 'model' }));
      }
      return;
    }
    if (this.#draining) {
      st.closeConnection = true;
      // Another instance behind the same address can serve it: the one error worth a client retry.
      writeError(res, st, new ProxyError('SHUTTING_DOWN', 'The proxy is shutting down; retry on another instance.'), ['x-should-retry', 'true']);
      return;
    }
    this.#readBody(res, req, st, route.endpoint, route.pathModel, readHints(req));
  }

  /**
   * Answers a request whose framing is refused with a 400 and closes the connection. The answer
   * waits until uWS has finished this read: were it written now, uWS would go on to parse and
   * serve whatever follows in the same read (a smuggled request) before closing. Left pending,
   * any such request makes uWS drop the connection instead, unanswered and unserved.
   */
  #refuseFraming(res: HttpResponse, st: ResponseState, why: string): void {
    st.closeConnection = true;
    res.onAborted(() => {
      st.aborted = true;
    });
    setImmediate(() => {
      try {
        writeError(res, st, new ProxyError('INVALID_REQUEST', why));
      } catch (err) {
        this.#fail(res, st, err);
      }
    });
  }

  /** `GET /health`: the background report when that loop runs, else a check now. */
  #health(res: HttpResponse, st: ResponseState, model: string | undefined, modelId: string | undefined): void {
    const router = this.#opts.router;
    const cached = model === undefined && modelId === undefined ? router.lastHealthReport : null;
    if (cached) {
      writeJson(res, st, 200, JSON.stringify(cached));
      return;
    }
    res.onAborted(() => {
      st.aborted = true;
      logAborted(st);
    });
    router.healthCheck({ model, modelId }).then(
      (r) => {
        try {
          if (r === null) writeError(res, st, new ProxyError('ROUTE_NOT_FOUND', `No deployment has model_id=${modelId}.`, { param: 'model_id' }));
          else writeJson(res, st, 200, JSON.stringify(r));
        } catch (err) {
          this.#fail(res, st, err);
        }
      },
      (err: unknown) => this.#fail(res, st, err),
    );
  }

  #readBody(res: HttpResponse, req: HttpRequest, st: ResponseState, endpoint: Endpoint, pathModel: string | null, hints: RequestHints): void {
    const limit = this.#opts.maxBodyBytes;
    const lengthHeader = req.getHeader('content-length');
    const declared = lengthHeader === '' ? -1 : Number(lengthHeader);
    const tooLarge = (): ProxyError =>
      new ProxyError('BODY_TOO_LARGE', `Request body is larger than the limit of ${limit} bytes (general_settings.max_request_size_mb).`);
    if (declared > limit) {
      // Refuse without reading the rest: answer and close, so the client stops sending.
      st.closeConnection = true;
      writeError(res, st, tooLarge());
      return;
    }
    this.#begin();
    const ctx = new RequestContext();
    this.#contexts.add(ctx);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.#contexts.delete(ctx);
      this.#end();
    };
    /** A throw anywhere in this request's handling: answer 500, cancel the upstream side, release. */
    const fail = (err: unknown): void => {
      this.#fail(res, st, err);
      try {
        ctx.abort();
      } catch {
        /* the cancel hook failed; the request is answered and released regardless */
      }
      finish();
    };
    res.onAborted(() => {
      st.aborted = true;
      logAborted(st);
      try {
        ctx.abort();
      } catch (err) {
        this.#fail(res, st, err);
      }
      finish();
    });
    // A standalone ArrayBuffer (never Node's pooled slab): it is transferred to a worker. Sized
    // to the declared length up to 1 MiB; beyond that it grows as bytes actually arrive, so
    // connections that declare a large body and send nothing cannot reserve memory.
    const cap = declared >= 0 ? declared : limit;
    let buf = uninitialized(declared >= 0 ? Math.min(declared, INITIAL_BODY_BYTES) : 16 * 1024);
    let len = 0;
    let refused = false;
    res.onData((chunk, isLast) => {
      if (refused) return;
      try {
        const part = new Uint8Array(chunk);
        if (len + part.length > limit) {
          refused = true;
          st.closeConnection = true;
          writeError(res, st, tooLarge());
          finish();
          return;
        }
        if (len + part.length > buf.length) {
          const grown = uninitialized(Math.max(len + part.length, Math.min(cap, buf.length * 2)));
          grown.set(buf.subarray(0, len));
          buf = grown;
        }
        buf.set(part, len);
        len += part.length;
        if (isLast) {
          const body = len === buf.length ? buf : buf.slice(0, len);
          // The read buffer goes now: this request's callbacks (abort, finish) live as long as
          // its stream, and would keep it, up to 1 MiB or a sliced-off 16 KiB, per open stream.
          buf = NO_BYTES;
          // uWS drops the connection when a pipelined request arrives while this response is
          // pending, right after this callback when both came in one read: start work only once
          // that read is over, so such a request is refused before reaching any upstream.
          setImmediate(() => {
            if (st.aborted) return;
            try {
              this.#dispatch(res, st, ctx, body, endpoint, pathModel, hints, finish, fail);
            } catch (err) {
              fail(err);
            }
          });
        }
      } catch (err) {
        refused = true;
        fail(err);
      }
    });
  }

  #dispatch(
    res: HttpResponse,
    st: ResponseState,
    ctx: RequestContext,
    body: Uint8Array,
    endpoint: Endpoint,
    pathModel: string | null,
    hints: RequestHints,
    finish: () => void,
    fail: (err: unknown) => void,
  ): void {
    const parsed = parseApiRequest(body, endpoint, pathModel, hints, st.requestId);
    if (parsed instanceof ProxyError) {
      writeError(res, st, parsed);
      finish();
      return;
    }
    if (parsed.stream) {
      // What the relay has gathered goes out before the error event that ends the stream.
      const failStream = (err: unknown): void => {
        relay.flushGathered();
        fail(err);
      };
      const relay: SseRelay = new SseRelay(res, st, finish, failStream);
      try {
        this.#opts.router.stream(parsed, ctx, relay).catch(failStream);
      } catch (err) {
        failStream(err);
      }
      return;
    }
    this.#opts.router.call(parsed, ctx).then(
      (reply) => {
        try {
          if (reply) writeReply(res, st, reply);
        } catch (err) {
          fail(err);
          return;
        }
        finish();
      },
      fail,
    );
  }
}
