/**
 * Reliability policy, one topic per file under policy/: error classes (classify.ts), retries
 * (retries.ts), fallbacks (fallbacks.ts) and cooldowns (cooldowns.ts). This barrel keeps the
 * names the config loader and the tests import from here; router code imports policy/* directly.
 */
export { classifyFailure, type ErrorClass, type FailureInput } from './policy/classify.js';
export * from './policy/retries.js';
export * from './policy/fallbacks.js';
export * from './policy/cooldowns.js';
