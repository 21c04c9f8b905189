/**
 * The debug log's per-attempt lines: one per attempt, successful ones included, with the
 * plan's decision after it. Only wired when the log is at debug (`SWITCHYARD_LOG_LEVEL=debug`,
 * `LITELLM_LOG=DEBUG`, `--detailed_debug`): at info the router has no listener and builds no
 * record. The logger redacts every line (secrets.ts), the failure message included.
 */
import type { Logger } from './log.js';
import type { AttemptListener, AttemptTrace } from './router/attempt-trace.js';

/** The listener writing attempt lines to `log`, or null when `log` drops debug lines. */
export function attemptLogger(log: Logger): AttemptListener | null {
  if (!log.enabled('debug')) return null;
  return (t) => log.debug(attemptMessage(t), {
    request_id: t.requestId ?? undefined,
    model_group: t.group,
    deployment_id: t.deploymentId ?? undefined,
    attempt: t.attempt,
    group_attempt: t.groupAttempt,
    outcome: t.outcome,
    status: t.status,
    duration_ms: Math.round(t.durationMs * 1000) / 1000,
    decision: t.decision,
    reason: t.reason ?? undefined,
    retry_in_ms: t.retryInMs === null ? undefined : Math.round(t.retryInMs),
    fallback_to: t.fallbackTo ?? undefined,
    error: t.error ?? undefined,
  });
}

function attemptMessage(t: AttemptTrace): string {
  const next = t.decision === 'fallback' ? `fallback to ${t.fallbackTo ?? '?'}` : t.decision;
  // Long ids (LiteLLM's hashes) shortened as in the other log lines' labels; deployment_id has it whole.
  const id = t.deploymentId === null ? '' : `/${t.deploymentId.length > 16 ? t.deploymentId.slice(0, 12) : t.deploymentId}`;
  return `attempt ${t.attempt} on ${t.group}${id}: ${t.outcome} ${t.status} -> ${next}`;
}
