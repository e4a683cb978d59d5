// Back-channel logout sent outside a request (OpenID Connect Back-Channel Logout 1.0 §2.5), for sessions an
// administrator ends. oidc-provider has no public API for it (issue #652); its end_session action calls the
// undocumented Client#backchannelLogout(sub, sid), which builds the logout token (typ logout+jwt, aud the
// client, events, jti, sid when the client requires it), signs it with the client's ID token algorithm and
// POSTs it through the provider's own fetch (our allow-list and timeout). This module is the only caller.
//
// Its first argument is the *account id*, as end_session passes it: the token's sub goes through the
// provider's Claims like an ID token's, which applies pairwiseIdentifier for pairwise clients — so each
// app gets exactly the sub it knows. Passing a pairwise value here would hash it twice.
import type Provider from 'oidc-provider';

export type DeliveryOutcome = 'delivered' | 'failed' | 'skipped';

export interface Delivery {
  clientId: string;
  sid?: string;
  outcome: DeliveryOutcome;
  /** Why it failed or was skipped. */
  reason?: string;
}

interface BackchannelClient {
  clientId: string;
  backchannelLogoutUri?: string;
  backchannelLogout?: (sub: string, sid?: string) => Promise<void>;
}

export class BackchannelUnavailable extends Error {
  constructor() {
    super('oidc-provider no longer offers Client#backchannelLogout: back-channel logout from an administrator needs src/sessions/backchannel.ts updated');
  }
}

/** Notifies one app that the account's session (known to that app by `sid`) has ended. Never throws for the app's sake. */
export async function sendBackchannelLogout(provider: Provider, clientId: string, accountId: string, sid: string | undefined): Promise<Delivery> {
  const client = await provider.Client.find(clientId) as unknown as BackchannelClient | undefined;
  if (!client) return { clientId, sid, outcome: 'skipped', reason: 'client no longer registered or disabled' };
  if (!client.backchannelLogoutUri) return { clientId, sid, outcome: 'skipped', reason: 'no backchannel_logout_uri registered' };
  // Fail loudly on a library upgrade rather than report apps as notified when they were not.
  if (typeof client.backchannelLogout !== 'function') throw new BackchannelUnavailable();
  try {
    await client.backchannelLogout(accountId, sid);
    return { clientId, sid, outcome: 'delivered' };
  } catch (err) {
    return { clientId, sid, outcome: 'failed', reason: (err as Error).message || String(err) };
  }
}
