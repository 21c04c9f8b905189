/**
 * `GET /metrics`: the Prometheus exposition text. Public (as LiteLLM's) unless
 * `litellm_settings.require_auth_for_metrics_endpoint` is true; app.ts decides that before
 * calling here. The text is built asynchronously (prom-client), so the response waits corked.
 */
import { statusLine } from '../errors.js';
import { logAccess } from './access-log.js';
import { HeaderBlock } from './header-block.js';
import { logAborted, writeCommonHeaders, type ResponseState } from './respond.js';
import { KEEP_ALIVE_HINT, type HttpResponse } from './uws.js';

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
    logAborted(st);
  });
  metrics.text().then(
    (text) => {
      if (st.aborted || st.finished) return;
      // The common headers (request id, version, CORS) and an access line, like every other response.
      res.cork(() => {
        res.writeStatus(statusLine(200));
        const block = new HeaderBlock().writeHeader('content-type', metrics.contentType);
        if (!st.closeConnection) block.writeHeader('keep-alive', KEEP_ALIVE_HINT);
        writeCommonHeaders(block, st);
        block.writeTo(res);
        res.end(text, st.closeConnection);
      });
      st.finished = true;
      st.status = 200;
      logAccess(st.ctx.log, st, null);
    },
    onError,
  );
}
