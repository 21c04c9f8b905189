/**
 * The per-deployment concurrency cap LiteLLM derives (litellm/utils.py
 * `calculate_max_parallel_requests`): `max_parallel_requests`, else `rpm`, else
 * `max(1, int(tpm / 1000 * 6))`, else `router_settings.default_max_parallel_requests`, else none.
 */
export function effectiveMaxParallel(explicit: number | null, rpm: number | null, tpm: number | null, routerDefault: number | null): number | null {
  if (explicit !== null) return explicit;
  // rpm 0 is already a hard limit of nothing; a cap of 0 would only change the error's reason.
  if (rpm !== null && rpm > 0) return rpm;
  if (tpm !== null && tpm > 0) return Math.max(1, Math.trunc((tpm / 1000) * 6));
  return routerDefault;
}
