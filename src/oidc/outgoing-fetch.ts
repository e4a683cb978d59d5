// oidc-provider's own fetch refuses loopback and private addresses (SSRF protection), but department
// apps live on internal networks. Ours allows exactly the origins that registered clients name for
// server-to-server calls (back-channel logout, jwks_uri, sector_identifier_uri) and nothing else;
// loopback only in development.
import type { ClientStore } from '../clients/store.ts';

const SERVER_TO_SERVER_FIELDS = ['backchannel_logout_uri', 'jwks_uri', 'sector_identifier_uri'] as const;
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

export function allowedOrigins(clients: ClientStore): Set<string> {
  const origins = new Set<string>();
  for (const m of clients.all()) {
    for (const f of SERVER_TO_SERVER_FIELDS) {
      const v = m[f];
      if (typeof v === 'string') {
        try { origins.add(new URL(v).origin); } catch { /* validated at registration */ }
      }
    }
  }
  return origins;
}

export function createOutgoingFetch(clients: ClientStore, options: { production: boolean; timeoutMs: number }) {
  return async (url: string | URL, init: RequestInit & { dispatcher?: unknown }) => {
    const target = new URL(url);
    if (!allowedOrigins(clients).has(target.origin)) throw new Error(`outgoing request to ${target.origin} refused: not a registered client origin`);
    if (options.production && LOOPBACK.test(target.hostname)) throw new Error('outgoing request to loopback refused in production');
    // Drop the library's SSRF-checking dispatcher: the allow-list above replaces it.
    const { dispatcher: _dispatcher, ...rest } = init;
    return fetch(target, { ...rest, redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
  };
}
