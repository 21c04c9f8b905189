/**
 * The strategy registry: LiteLLM's `router_settings.routing_strategy` names plus our own
 * `peak-ewma`, each mapped to its picker.
 */
import { costBased } from './cost-based.js';
import { createLatencyBased } from './latency-based.js';
import { leastBusy } from './least-busy.js';
import { peakEwma } from './peak-ewma.js';
import { simpleShuffle } from './simple-shuffle.js';
import type { Picker } from './types.js';
import { usageBased } from './usage-based.js';

// The names and args the config accepts are defined in config/ (the floor); re-exported here.
import type { StrategyArgs, StrategyName } from '../../config/strategy-names.js';
export { strategyNames, type StrategyArgs, type StrategyName } from '../../config/strategy-names.js';

/** The picker for a strategy. Throws RangeError for out-of-range args (config validation should catch them first). */
export function createPicker(name: StrategyName, args: StrategyArgs = {}): Picker {
  switch (name) {
    case 'simple-shuffle':
      return simpleShuffle;
    case 'least-busy':
      return leastBusy;
    // v1 and v2 differ in how usage is counted and limits applied (the actor's job), not in ranking.
    case 'usage-based-routing':
    case 'usage-based-routing-v2':
      return usageBased;
    case 'latency-based-routing':
      return createLatencyBased({
        bufferFraction: args.lowestLatencyBuffer,
        ttlMs: args.ttlSeconds === undefined ? undefined : args.ttlSeconds * 1000,
      });
    case 'cost-based-routing':
      return costBased;
    case 'peak-ewma':
      return peakEwma;
    default: {
      const unknown: never = name;
      throw new RangeError(`unknown routing strategy ${JSON.stringify(unknown)}`);
    }
  }
}

export { costBased, createLatencyBased, leastBusy, peakEwma, simpleShuffle, usageBased };
export { updatePeakEwma } from './peak-ewma.js';
export type { Candidate, PickContext, Picker } from './types.js';
