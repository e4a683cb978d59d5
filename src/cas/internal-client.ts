// One session for both protocols: every CAS service is also an OIDC client of yihao itself. /cas/login
// sends the browser through the provider's own authorization endpoint for that client, so the SSO
// session, the login and consent pages, prompt=login/none and logout are the provider's; and when the
// session ends the provider's back-channel logout reaches /cas/backchannel-logout like any other app.
//
// The stored registration stays what the file says; the OIDC half is derived when the provider reads
// the client, from the issuer this process serves.
import type { ClientStore } from '../clients/store.ts';
import type { ClientMetadata } from '../clients/registration.ts';
import { isCasRegistration, type CasRegistration } from './registration.ts';

export const CAS_PATHS = {
  login: '/cas/login',
  callback: '/cas/callback',
  logout: '/cas/logout',
  loggedOut: '/cas/logged-out',
  backchannelLogout: '/cas/backchannel-logout',
} as const;

/** The registration as oidc-provider reads it (the CAS fields ride along and are ignored by the provider). */
export function internalClientMetadata(registration: CasRegistration, issuer: string): ClientMetadata {
  return {
    ...registration,
    redirect_uris: [`${issuer}${CAS_PATHS.callback}`],
    post_logout_redirect_uris: [`${issuer}${CAS_PATHS.loggedOut}`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // The code never leaves yihao (/cas/callback consumes it in-process), so there is no secret to keep;
    // PKCE still binds it to the request /cas/login started.
    token_endpoint_auth_method: 'none',
    backchannel_logout_uri: `${issuer}${CAS_PATHS.backchannelLogout}`,
    backchannel_logout_session_required: true,
    subject_type: 'pairwise',
  };
}

/** Serves CAS registrations to the provider as their internal OIDC clients; everything else unchanged. */
export function casAwareMetadata(metadata: ClientMetadata, issuer: string): ClientMetadata {
  return isCasRegistration(metadata) ? internalClientMetadata(metadata, issuer) : metadata;
}

/** The client store as the provider (and its outgoing-fetch allow-list) should see it. */
export function withCasClients(store: ClientStore, issuer: string): ClientStore {
  // One derived object per stored one: the provider hashes what find returns to reuse its Client instance.
  const derived = new WeakMap<ClientMetadata, ClientMetadata>();
  const serve = (m: ClientMetadata): ClientMetadata => {
    if (!isCasRegistration(m)) return m;
    let out = derived.get(m);
    if (!out) derived.set(m, (out = internalClientMetadata(m, issuer)));
    return out;
  };
  return {
    ...store,
    async find(clientId) {
      const m = await store.find(clientId);
      return m && serve(m);
    },
    cached(clientId) {
      const m = store.cached(clientId);
      return m && serve(m);
    },
    all: () => store.all().map(serve),
  };
}

/** Every enabled CAS registration, as stored. */
export function casRegistrations(store: ClientStore): CasRegistration[] {
  return store.all().filter(isCasRegistration);
}
