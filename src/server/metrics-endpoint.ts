/**
 * `GET /metrics`: the Prometheus exposition text. Public (as LiteLLM's) unless
 * `litellm_settings.require_auth_for_metrics_endpoint` is true; app.ts decides that before
 * calling here. The text is built asynchronously (prom-client), so the response waits corked.
 */
import { statusLine } from '../errors.js';
import type { ResponseState } from './respond.js';
import type { HttpResponse } from './uws.js';

/** What the server needs of the metrics: the text and its content type. */
export interface MetricsExport {
  readonly contentType: string;
  text(): Promise<string>;
  /** `require_auth_for_metrics_endpoint`: the master key guards /metrics like any other route. */
  readonly requireAuth: boolean;
}

export function serveMetrics(res: HttpResponse, st: ResponseState, metrics: MetricsExport, onError: (err: unknown) => void): void {
  res.onAborted(() => {
    st.aborted = true;
  });
  metrics.text().then(
    (text) => {
      if (st.aborted || st.finished) return;
      res.cork(() => {
        res.writeStatus(statusLine(200));
        res.writeHeader('content-type', metrics.contentType);
        res.end(text, st.closeConnection);
      });
      st.finished = true;
    },
    onError,
  );
}
