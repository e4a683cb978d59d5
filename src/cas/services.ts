// Which registered CAS client a `service` URL belongs to. Prefixes, never regular expressions (the
// classic CAS open-redirect hole): scheme, host and port must be equal, and the path must start with
// the registered path at a "/" boundary. A ticket is later bound to the exact service string.
import { LOOPBACK_HOSTS } from '../clients/registration.ts';
import type { CasRegistration } from './registration.ts';

export type ParsedPrefix = { ok: true; url: URL } | { ok: false; message: string };

// "." and ".." segments (also percent-encoded) and backslashes: URL parsing resolves them, so what the
// administrator wrote would not be what is matched.
const DOT_SEGMENT = /(^|[\/\\])(\.|%2e){1,2}([\/\\?#]|$)/i;

/** A registered service prefix: absolute http(s) (https in production; http only for loopback in development). */
export function parseServicePrefix(value: string, options: { production: boolean }): ParsedPrefix {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, message: 'must be an absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, message: 'must be an http(s) URL' };
  if (url.protocol === 'http:' && (options.production || !LOOPBACK_HOSTS.has(url.hostname))) {
    return { ok: false, message: options.production ? 'must use https' : 'must use https (http is accepted only for localhost in development)' };
  }
  if (url.username || url.password) return { ok: false, message: 'must not contain credentials' };
  if (value.includes('?') || value.includes('#')) return { ok: false, message: 'must be a prefix without a query string or fragment' };
  if (/[\\\s]/.test(value) || DOT_SEGMENT.test(value.replace(/^[a-z]+:\/\//i, ''))) {
    return { ok: false, message: 'must not contain spaces, backslashes or "." / ".." path segments' };
  }
  return { ok: true, url };
}

/** Whether `service` (as the app sent it) falls under `prefix`. */
export function serviceMatches(prefix: string, service: string): boolean {
  let p: URL;
  let s: URL;
  try {
    p = new URL(prefix);
    s = new URL(service);
  } catch {
    return false;
  }
  // Scheme, host and port exactly (URL has already dropped a default port and lower-cased the host).
  if (p.protocol !== s.protocol || p.hostname !== s.hostname || p.port !== s.port) return false;
  if (s.username || s.password) return false;
  // Compared as parsed, exactly as the browser will request it: dot segments resolved, "\\" read as "/",
  // non-ASCII percent-encoded. Matching the raw text instead would let "/app/../admin" pass as "/app/".
  const path = s.pathname;
  const base = p.pathname;
  if (base.endsWith('/')) return path.startsWith(base);
  return path === base || path.startsWith(`${base}/`);
}

/** Why a service cannot receive tickets, or the registration that owns it (the longest matching prefix). */
export function findServiceOwner(
  registrations: Iterable<CasRegistration>,
  service: string,
): { ok: true; client: CasRegistration } | { ok: false; reason: 'missing' | 'malformed' | 'unregistered' } {
  if (!service) return { ok: false, reason: 'missing' };
  // Fragments never reach a server, so a ticket appended after one would never reach the app.
  if (service.length > 2048 || service.includes('#') || !URL.canParse(service)) return { ok: false, reason: 'malformed' };
  let best: { client: CasRegistration; length: number } | undefined;
  for (const client of registrations) {
    for (const prefix of client.cas_services) {
      if (serviceMatches(prefix, service) && (!best || prefix.length > best.length)) best = { client, length: prefix.length };
    }
  }
  return best ? { ok: true, client: best.client } : { ok: false, reason: 'unregistered' };
}

/** CAS 2.0 §2.2.4: the ticket is appended to the service URL as given. */
export function withTicket(service: string, ticket: string): string {
  return `${service}${service.includes('?') ? '&' : '?'}ticket=${ticket}`;
}
