/**
 * The access log: one info line per request, written when its response has finished (or its
 * client has gone). What the router did is read back from the reply's own headers
 * (`x-litellm-model-group`, `x-litellm-model-id`, `x-litellm-attempted-retries`,
 * `x-litellm-attempted-fallbacks`), so the line costs nothing beyond itself.
 *
 * The line is formatted here, field by field, in the logger's own format (`Logger.infoText`
 * for human lines, `Logger.infoJson` for JSON): the same bytes the logger's generic path writes
 * for the fields object below (humanFields' `key=value` text, pino's JSON), without building
 * that object, testing numbers for quotes or going through pino. A logger offering neither
 * gets `info(msg, fields)`.
 */
import { humanValue, jsonString, type Logger } from '../log.js';
import type { Usage } from '../upstream/wire.js';
import type { ResponseState } from './response-state.js';

/** Logged as the status of a request whose client went away before any answer. */
export const CLIENT_CLOSED = 499;

function ms(from: number, to: number): number {
  return Math.round((to - from) * 1000) / 1000;
}

/**
 * Writes `st`'s access line once; `headers` are the reply's flat `[name, value, …]` pairs and
 * `usage` the tokens a deployment reported for a non-stream answer.
 */
export function logAccess(log: Logger | null, st: ResponseState, headers: readonly string[] | null, usage: Usage | null = null): void {
  if (st.logged || log === null) return;
  st.logged = true;
  // A level above info drops the line: nothing of it is built.
  if (!log.enabled('info')) return;
  let group: string | undefined;
  let deployment: string | undefined;
  let retries: string | undefined;
  let fallbacks: string | undefined;
  if (headers !== null) {
    for (let i = 0; i < headers.length; i += 2) {
      switch (headers[i]) {
        case 'x-litellm-model-group': group = headers[i + 1]; break;
        case 'x-litellm-model-id': deployment = headers[i + 1]; break;
        case 'x-litellm-attempted-retries': retries = headers[i + 1]; break;
        case 'x-litellm-attempted-fallbacks': fallbacks = headers[i + 1]; break;
      }
    }
  }
  const now = performance.now();
  const status = st.status === 0 ? CLIENT_CLOSED : st.status;
  if (log.infoText !== null) {
    // Field for field what humanFields writes for the object below: strings left out when
    // empty and quoted when they need it; numbers and `true` as they print.
    let s = `${st.method} ${st.url} ${status}${text(' request_id=', st.requestId)}${text(' method=', st.method)}${text(' route=', st.url)} status=${status}`;
    if (group !== undefined) s += text(' model_group=', group);
    if (deployment !== undefined) s += text(' deployment_id=', deployment);
    if (retries !== undefined) s += ` attempted_retries=${Number(retries)}`;
    if (fallbacks !== undefined) s += ` attempted_fallbacks=${Number(fallbacks)}`;
    s += ` duration_ms=${ms(st.startedAt, now)}`;
    if (st.firstByteAt !== 0) s += ` ttfb_ms=${ms(st.startedAt, st.firstByteAt)}`;
    if (usage !== null) {
      if (usage.promptTokens != null) s += ` prompt_tokens=${usage.promptTokens}`;
      if (usage.completionTokens != null) s += ` completion_tokens=${usage.completionTokens}`;
    }
    if (st.aborted) s += ' client_closed=true';
    log.infoText(s);
    return;
  }
  if (log.infoJson !== null) {
    // Property for property what pino writes for the object below (undefined left out).
    let s = `,"request_id":${jsonString(st.requestId)},"method":${jsonString(st.method)},"route":${jsonString(st.url)},"status":${jsonNumber(status)}`;
    if (group !== undefined) s += `,"model_group":${jsonString(group)}`;
    if (deployment !== undefined) s += `,"deployment_id":${jsonString(deployment)}`;
    if (retries !== undefined) s += `,"attempted_retries":${jsonNumber(Number(retries))}`;
    if (fallbacks !== undefined) s += `,"attempted_fallbacks":${jsonNumber(Number(fallbacks))}`;
    s += `,"duration_ms":${jsonNumber(ms(st.startedAt, now))}`;
    if (st.firstByteAt !== 0) s += `,"ttfb_ms":${jsonNumber(ms(st.startedAt, st.firstByteAt))}`;
    if (usage !== null) {
      if (usage.promptTokens !== undefined) s += `,"prompt_tokens":${jsonNumber(usage.promptTokens)}`;
      if (usage.completionTokens !== undefined) s += `,"completion_tokens":${jsonNumber(usage.completionTokens)}`;
    }
    if (st.aborted) s += ',"client_closed":true';
    log.infoJson(`${s},"msg":${jsonString(`${st.method} ${st.url} ${status}`)}`);
    return;
  }
  // The reference both formats above follow.
  log.info(`${st.method} ${st.url} ${status}`, {
    request_id: st.requestId,
    method: st.method,
    route: st.url,
    status,
    model_group: group,
    deployment_id: deployment,
    attempted_retries: retries === undefined ? undefined : Number(retries),
    attempted_fallbacks: fallbacks === undefined ? undefined : Number(fallbacks),
    duration_ms: ms(st.startedAt, now),
    ttfb_ms: st.firstByteAt === 0 ? undefined : ms(st.startedAt, st.firstByteAt),
    prompt_tokens: usage?.promptTokens,
    completion_tokens: usage?.completionTokens,
    client_closed: st.aborted ? true : undefined,
  });
}

/** ` key=value` for a string field, '' when it is empty (left out). */
function text(key: string, v: string): string {
  return v === '' ? '' : key + humanValue(v);
}

/** A number in a JSON line as pino writes it: as it prints, `null` when not finite (or not a number). */
function jsonNumber(v: number | null): string {
  return typeof v === 'number' && Number.isFinite(v) ? `${v}` : 'null';
}
