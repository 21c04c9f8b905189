/**
 * The router the server talks to across config reloads: it hands each request to the router
 * current when the request arrived, so a request (and a stream) runs start to end on one router
 * and its actors, while new requests go to the new one the moment `swap` returns.
 */
import type { HealthReport } from './health.js';
import type { GroupActor } from './group-actor.js';
import type { Router } from './router.js';
import type { ApiRequest, Reply, RequestContext, StreamConsumer } from './types.js';
import type { ProxyConfig } from '../config/types.js';

/** What the HTTP front end uses of a router. */
export interface ServingRouter {
  readonly config: ProxyConfig;
  readonly lastHealthReport: HealthReport | null;
  call(req: ApiRequest, ctx: RequestContext): Promise<Reply | null>;
  stream(req: ApiRequest, ctx: RequestContext, consumer: StreamConsumer): Promise<void>;
  healthCheck(filter?: { model?: string; modelId?: string }): Promise<HealthReport | null>;
  modelList(): string;
  resolve(model: string): GroupActor | null;
}

export class LiveRouter implements ServingRouter {
  #current: Router;

  constructor(router: Router) {
    this.#current = router;
  }

  get current(): Router {
    return this.#current;
  }

  /** From now on new requests go to `next`; requests already running stay where they are. */
  swap(next: Router): Router {
    const old = this.#current;
    this.#current = next;
    return old;
  }

  get config(): ProxyConfig {
    return this.#current.config;
  }

  get lastHealthReport(): HealthReport | null {
    return this.#current.lastHealthReport;
  }

  call(req: ApiRequest, ctx: RequestContext): Promise<Reply | null> {
    return this.#current.call(req, ctx);
  }

  stream(req: ApiRequest, ctx: RequestContext, consumer: StreamConsumer): Promise<void> {
    return this.#current.stream(req, ctx, consumer);
  }

  healthCheck(filter: { model?: string; modelId?: string } = {}): Promise<HealthReport | null> {
    return this.#current.healthCheck(filter);
  }

  modelList(): string {
    return this.#current.modelList();
  }

  resolve(model: string): GroupActor | null {
    return this.#current.resolve(model);
  }
}
