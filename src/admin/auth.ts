// Who is calling the admin API. Bearer access tokens that yihao itself issued, looked up through the
// provider's own models (no introspection round trip):
// - automation: a client-credentials token (ClientCredentials) for a client registered with admin:clients;
// - people: a user access token (AccessToken) from an authorization-code login at an admin client,
//   whose account still holds the system_admin role now (a revoked role takes effect at once).
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Accounts, Role } from '../accounts/accounts.ts';
import { ADMIN_SCOPE } from '../clients/policy.ts';
import { InsufficientScope, InvalidToken, MissingToken } from './errors.ts';

export const ADMIN_ROLE: Role = 'system_admin';

export type Admin =
  | { kind: 'client'; clientId: string }
  | { kind: 'account'; accountId: string; clientId: string };

/** The audit actor: an internal account id, or client:<id> for automation. */
export const actorOf = (a: Admin) => (a.kind === 'account' ? a.accountId : `client:${a.clientId}`);

function bearer(ctx: Context): string {
  const header = ctx.get('authorization');
  const m = /^Bearer ([\x21-\x7e]+)$/i.exec(header);
  if (!m) throw header ? new InvalidToken('the Authorization header must be "Bearer <access token>"') : new MissingToken();
  return m[1]!;
}

type Token = { clientId?: string; accountId?: string; grantId?: string; scope?: string; aud?: unknown; jkt?: string; 'x5t#S256'?: string };

export function createAuthenticator(provider: Provider, accounts: Accounts) {
  /** `role`: what a person must hold for this route; automation (no person) only ever acts as system_admin. */
  return async function authenticate(ctx: Context, role: Role = ADMIN_ROLE): Promise<Admin> {
    const value = bearer(ctx);
    if (value.length > 512) throw new InvalidToken('access token not found or expired');
    const user = (await provider.AccessToken.find(value)) as Token | undefined;
    const token = user ?? ((await provider.ClientCredentials.find(value)) as Token | undefined);
    if (!token?.clientId) throw new InvalidToken('access token not found or expired');
    // Sender-constrained tokens (DPoP, mTLS) need a proof this API does not check: refuse rather than ignore it.
    if (token.jkt || token['x5t#S256']) throw new InvalidToken('sender-constrained access tokens are not accepted here');
    // A token for another resource server (resource indicators, RFC 8707) is not for us.
    if (token.aud !== undefined) throw new InvalidToken('access token audience is not this API');

    const client = await provider.Client.find(token.clientId);
    if (!client) throw new InvalidToken('the client this token was issued to is no longer registered');
    const scopes = new Set(token.scope?.split(' ') ?? []);
    if (!scopes.has(ADMIN_SCOPE)) throw new InsufficientScope(`the access token lacks scope ${ADMIN_SCOPE}`, ADMIN_SCOPE);
    if (!client.scope?.split(' ').includes(ADMIN_SCOPE)) throw new InsufficientScope(`client ${client.clientId} is no longer allowed scope ${ADMIN_SCOPE}`, ADMIN_SCOPE);
    if (!user) {
      if (role !== ADMIN_ROLE) throw new InsufficientScope(`only a person holding the ${role} role may do this, not a client's own token`, ADMIN_SCOPE);
      return { kind: 'client', clientId: client.clientId };
    }

    // The grant is gone when the user logged out or the token family was revoked.
    const grant = token.grantId ? await provider.Grant.find(token.grantId) : undefined;
    if (!grant || grant.clientId !== token.clientId || grant.accountId !== token.accountId) throw new InvalidToken('the grant behind this token was revoked');
    const account = token.accountId ? await accounts.findById(token.accountId) : undefined;
    if (!account || account.status !== 'active') throw new InvalidToken('the account behind this token is not active');
    if (!account.roles.includes(role)) throw new InsufficientScope(`the account does not hold the ${role} role`, ADMIN_SCOPE);
    return { kind: 'account', accountId: account.id, clientId: client.clientId };
  };
}
export type Authenticate = ReturnType<typeof createAuthenticator>;
