/**
 * One deployment's latency samples for latency-based-routing (LiteLLM's lowest_latency): the
 * newest samples of seconds per output token, and of time to first token for streams, their
 * means, and when the last one came. Written only through its DeploymentState.
 */
import { DEFAULT_LATENCY_TTL_MS } from './strategies/latency-based.js';

/** LiteLLM's lowest_latency keeps the last 10 samples per deployment. */
const LATENCY_SAMPLES = 10;
/** LiteLLM appends a 1000 s sample when a deployment times out, so it drops to the back. */
const TIMEOUT_PENALTY_S = 1000;

export class LatencySamples {
  readonly #latency: number[] = [];
  readonly #ttft: number[] = [];
  #score: number | null = null;
  #ttftScore: number | null = null;
  #updatedAt: number | null = null;
  /** `routing_strategy_args.ttl`: samples are gone for good once none came for this long (LiteLLM's cache TTL). */
  readonly #ttlMs: number;

  constructor(ttlMs: number = DEFAULT_LATENCY_TTL_MS) {
    this.#ttlMs = ttlMs;
  }

  get score(): number | null {
    return this.#score;
  }
  get ttftScore(): number | null {
    return this.#ttftScore;
  }
  get updatedAt(): number | null {
    return this.#updatedAt;
  }

  /** A success: LiteLLM ranks by seconds per output token (raw seconds when no tokens were reported). */
  recordSuccess(now: number, latencyMs: number, completionTokens: number, ttftMs: number | undefined): void {
    this.#expire(now);
    push(this.#latency, completionTokens > 0 ? latencyMs / 1000 / completionTokens : latencyMs / 1000);
    this.#score = mean(this.#latency);
    if (ttftMs !== undefined) {
      push(this.#ttft, completionTokens > 0 ? ttftMs / 1000 / completionTokens : ttftMs / 1000);
      this.#ttftScore = mean(this.#ttft);
    }
    this.#updatedAt = now;
  }

  recordTimeout(now: number): void {
    this.#expire(now);
    push(this.#latency, TIMEOUT_PENALTY_S);
    this.#score = mean(this.#latency);
    this.#updatedAt = now;
  }

  /** After a config reload: take over the samples of the same deployment's old state. */
  adopt(old: LatencySamples): void {
    this.#score = old.#score;
    this.#ttftScore = old.#ttftScore;
    this.#updatedAt = old.#updatedAt;
    this.#latency.push(...old.#latency);
    this.#ttft.push(...old.#ttft);
  }

  /**
   * LiteLLM keeps a group's latency map under one cache key whose TTL every write renews: once
   * no sample came for `ttl`, the old ones have expired and the next sample starts afresh,
   * rather than being averaged with samples the picker already treats as no data.
   */
  #expire(now: number): void {
    if (this.#updatedAt !== null && now - this.#updatedAt > this.#ttlMs) {
      this.#latency.length = 0;
      this.#ttft.length = 0;
      this.#ttftScore = null;
    }
  }
}

/** Keeps the newest samples (LiteLLM keeps the oldest 9 once full, which freezes the average). */
function push(samples: number[], v: number): void {
  if (samples.length >= LATENCY_SAMPLES) samples.shift();
  samples.push(v);
}

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}
