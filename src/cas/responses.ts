// Validation responses as CAS clients parse them (CAS Protocol 3.0 §2.4–2.6, Appendix A and B).
// mod_auth_cas feeds the XML to expat: the declaration must be the very first bytes, the cas prefix
// must be declared, and <cas:user> is used verbatim, so nothing is pretty-printed.
import type { Context } from 'koa';

/** CAS 3.0 §2.5.3 error codes (and §2.7.2 for /proxy). */
export type CasErrorCode =
  | 'INVALID_REQUEST' | 'INVALID_TICKET_SPEC' | 'UNAUTHORIZED_SERVICE_PROXY' | 'UNAUTHORIZED_SERVICE'
  | 'INVALID_PROXY_CALLBACK' | 'INVALID_TICKET' | 'INVALID_SERVICE' | 'INTERNAL_ERROR';

/** A validation that failed: one error handler turns it into the protocol's answer. */
export class CasFailure extends Error {
  readonly code: CasErrorCode;
  constructor(code: CasErrorCode, description: string) {
    super(description);
    this.code = code;
  }
}

export const CAS_NAMESPACE = 'http://www.yale.edu/tp/cas';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

// XML 1.0 §2.2 forbids most control characters even when escaped; §2.4 the five markup characters.
const XML_INVALID = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
export const escapeXml = (s: string) => s.replace(XML_INVALID, '').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);

export interface Success { user: string; attributes?: Record<string, string> }
export type Format = 'XML' | 'JSON';

export function successXml(s: Success): string {
  const attributes = s.attributes
    ? `<cas:attributes>${Object.entries(s.attributes).map(([k, v]) => `<cas:${k}>${escapeXml(v)}</cas:${k}>`).join('')}</cas:attributes>`
    : '';
  return `${XML_DECLARATION}<cas:serviceResponse xmlns:cas="${CAS_NAMESPACE}"><cas:authenticationSuccess><cas:user>${escapeXml(s.user)}</cas:user>${attributes}</cas:authenticationSuccess></cas:serviceResponse>\n`;
}

export function failureXml(f: CasFailure, element: 'authenticationFailure' | 'proxyFailure' = 'authenticationFailure'): string {
  return `${XML_DECLARATION}<cas:serviceResponse xmlns:cas="${CAS_NAMESPACE}"><cas:${element} code="${f.code}">${escapeXml(f.message)}</cas:${element}></cas:serviceResponse>\n`;
}

// Appendix A's JSON: single-valued attributes as plain strings, like its example.
export const successJson = (s: Success) =>
  JSON.stringify({ serviceResponse: { authenticationSuccess: { user: s.user, ...(s.attributes ? { attributes: s.attributes } : {}) } } });
export const failureJson = (f: CasFailure, element: 'authenticationFailure' | 'proxyFailure' = 'authenticationFailure') =>
  JSON.stringify({ serviceResponse: { [element]: { code: f.code, description: f.message } } });

function send(ctx: Context, type: string, body: string) {
  // §2.5: the validation answer is always 200; success or failure is in the body.
  ctx.status = 200;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = type;
  ctx.body = body;
}

export function sendValidation(ctx: Context, format: Format, outcome: Success | CasFailure) {
  if (format === 'JSON') send(ctx, 'application/json; charset=utf-8', outcome instanceof CasFailure ? failureJson(outcome) : successJson(outcome));
  else send(ctx, 'application/xml; charset=utf-8', outcome instanceof CasFailure ? failureXml(outcome) : successXml(outcome));
}

export function sendProxyFailure(ctx: Context, format: Format, f: CasFailure) {
  if (format === 'JSON') send(ctx, 'application/json; charset=utf-8', failureJson(f, 'proxyFailure'));
  else send(ctx, 'application/xml; charset=utf-8', failureXml(f, 'proxyFailure'));
}

/** CAS 1.0 /validate (§2.4.2): "yes\n<user>\n" or "no\n\n", bare LF (mod_auth_cas splits on \n only). */
export function sendValidate1(ctx: Context, user: string | undefined) {
  send(ctx, 'text/plain; charset=utf-8', user === undefined ? 'no\n\n' : `yes\n${user}\n`);
}
