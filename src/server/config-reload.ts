/**
 * `POST /config/reload` (master key required when set): loads the config file again. 200 with
 * a summary when the new config serves; 400 with the problems (secrets cut out) when it does
 * not, and the old config keeps serving.
 */
import { envelopeJson, errors } from '../errors.js';
import { logAborted, writeReply, type ResponseState } from './respond.js';
import type { HttpResponse } from './uws.js';

/** What a reload ended with (index.ts does the work). */
export type ReloadOutcome =
  | { readonly ok: true; readonly summary: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly problems: readonly string[] };

export function serveReload(res: HttpResponse, st: ResponseState, reload: () => Promise<ReloadOutcome>, onError: (err: unknown) => void): void {
  res.onAborted(() => {
    st.aborted = true;
    logAborted(st);
  });
  // The body (if any) is not read: the request says nothing but "reload".
  res.onData(() => {});
  reload().then(
    (r) => {
      if (r.ok) {
        writeReply(res, st, { status: 200, body: JSON.stringify({ status: 'reloaded', ...r.summary }), headers: [] });
        return;
      }
      const message = `Config reload refused; the previous config keeps serving. Problems: ${r.problems.join('; ')}`;
      writeReply(res, st, {
        status: 400,
        body: envelopeJson({ message, type: errors.INVALID_REQUEST.type, param: null, code: '400' }),
        headers: [],
      });
    },
    onError,
  );
}
