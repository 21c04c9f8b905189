/**
 * Request framing checks uWebSockets.js leaves to us (RFC 9112 §6). uWS frames a body by the
 * first `Content-Length` it sees (an empty one counts as 0), so a second one would let a
 * front proxy that reads the other smuggle a request past us; it also accepts transfer codings
 * it cannot decode. One pass over the header fields, because only that sees repeats.
 */
import type { HttpRequest } from './uws.js';

const DIGITS = /^[0-9]{1,15}$/;

/** Why this request's framing is refused, or null when it is sound. */
export function framingProblem(req: HttpRequest): string | null {
  let lengths = 0;
  let codings = 0;
  let length = '';
  let coding = '';
  req.forEach((key, value) => {
    if (key === 'content-length') {
      lengths++;
      length = value;
    } else if (key === 'transfer-encoding') {
      codings++;
      coding = value;
    }
  });
  if (lengths === 0 && codings === 0) return null;
  if (lengths > 1 || codings > 1) return 'Content-Length or Transfer-Encoding appears more than once.';
  if (lengths > 0 && codings > 0) return 'A request must not carry both Content-Length and Transfer-Encoding.';
  if (codings > 0 && coding.toLowerCase() !== 'chunked') return `Transfer-Encoding ${JSON.stringify(coding)} is not supported; send chunked or a Content-Length.`;
  if (lengths > 0 && !DIGITS.test(length)) return `Content-Length ${JSON.stringify(length)} is not a valid length.`;
  return null;
}
