/**
 * `router_settings.routing_strategy` names and `routing_strategy_args`, as the loader accepts
 * them: LiteLLM's names plus our own `peak-ewma`. The pickers they map to are in
 * router/strategies/index.ts, whose switch is checked exhaustive against this list.
 */
export type StrategyName =
  | 'simple-shuffle'
  | 'least-busy'
  | 'usage-based-routing'
  | 'usage-based-routing-v2'
  | 'latency-based-routing'
  | 'cost-based-routing'
  | 'peak-ewma';

export const strategyNames: readonly StrategyName[] = Object.freeze([
  'simple-shuffle',
  'least-busy',
  'usage-based-routing',
  'usage-based-routing-v2',
  'latency-based-routing',
  'cost-based-routing',
  'peak-ewma',
] as const);

/** LiteLLM `router_settings.routing_strategy_args`, for the strategies that take any. */
export interface StrategyArgs {
  /** `lowest_latency_buffer` (latency-based-routing): fraction above the best score still picked. Default 0. */
  readonly lowestLatencyBuffer?: number;
  /** `ttl` in seconds (latency-based-routing): latency samples older than this are ignored. Default 3600. */
  readonly ttlSeconds?: number;
}
