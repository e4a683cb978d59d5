// Dynamic client registration (RFC 7591) and its management (RFC 7592) for departments' own test apps,
// under initial access tokens that administrators issue (docs/dynamic-registration.md). oidc-provider runs
// the endpoints; this module gives it the token policy, the adapters behind its models, and the writes.
//
//   POST   /reg             Authorization: Bearer <initial access token>       → client_id, secret, registration_access_token
//   GET    /reg/{client_id} Authorization: Bearer <registration access token>  → the registration
//   PUT    /reg/{client_id} same                                               → changed; the access token rotates
//   DELETE /reg/{client_id} same                                               → deleted
import { randomBytes } from 'node:crypto';
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Db } from '../store/db.ts';
import type { Audit } from '../audit/audit.ts';
import type { ClientStore } from '../clients/store.ts';
import type { ClientMetadata } from '../clients/registration.ts';
import { registrationAccessTokenAdapter } from './access-tokens.ts';
import { createDynamicClientWrites } from './clients.ts';
import { registrationError, selfRegistration } from './policy.ts';
import { currentRegistrationRequest, registrationRequests } from './request.ts';
import { createInitialAccessTokens, initialAccessTokenAdapter, tokenActor, unusable } from './tokens.ts';
import type { TokenAdmin } from './admin-routes.ts';

export const REGISTRATION_PATH = '/reg';
const POLICY = 'yihao-initial-access-token';

export interface DynamicRegistrationDeps {
  db: Db;
  clients: ClientStore;
  audit: Audit;
  issuer: string;
  production: boolean;
}

const invalidToken = (description: string) => Object.assign(new errors.InvalidToken(), { error_description: description });

export function createDynamicRegistration(deps: DynamicRegistrationDeps) {
  const tokens = createInitialAccessTokens(deps.db);
  const clientWrites = createDynamicClientWrites({ db: deps.db, store: deps.clients, tokens });
  const adapters: Record<string, unknown> = {
    InitialAccessToken: initialAccessTokenAdapter(tokens, POLICY),
    RegistrationAccessToken: registrationAccessTokenAdapter(deps.db),
  };

  /**
   * The one registration policy, run by oidc-provider on registration (with the initial access token) and on
   * every RFC 7592 update (the registration access token inherits it): the token's policy over the request,
   * whose normalised form replaces what the request said.
   */
  async function tokenPolicy(ctx: KoaContextWithOIDC, properties: ClientMetadata) {
    const request = currentRegistrationRequest();
    if (!request) throw new Error('registration policy outside a registration request');
    const presented = ctx.oidc.entities.InitialAccessToken;
    const token = presented ? await tokens.byValue(presented.jti) : await tokens.ofClient(ctx.oidc.client?.clientId ?? '');
    if (!token) throw invalidToken(presented ? 'initial access token not found' : 'the client was not registered with an initial access token');
    const why = presented ? unusable(token) : undefined; // an update stays under the policy of a token since expired
    if (why) throw invalidToken(why);

    const result = selfRegistration(properties, token, { production: deps.production });
    if (!result.ok) {
      await deps.audit.record({
        type: 'client.registration_refused', outcome: 'failure', actor: tokenActor(token.id), clientId: presented ? null : String(properties.client_id),
        ip: request.ip, userAgent: request.userAgent, requestId: request.requestId,
        details: { via: 'dynamic-registration', initial_access_token: token.id, department: token.department, errors: result.errors },
      }).catch(() => {}); // logged by the audit; the refusal stands either way
      throw registrationError(result.errors);
    }
    // RFC 7591 §3.2.1: the response carries the registration as registered, so the request becomes it.
    // client_id_issued_at and client_secret_expires_at are answered, not stored (they are no fields of ours).
    const issuedAt = properties.client_id_issued_at;
    for (const k of Object.keys(properties)) delete (properties as Record<string, unknown>)[k];
    Object.assign(properties, result.metadata);
    if (typeof issuedAt === 'number') properties.client_id_issued_at = issuedAt;
    if (result.metadata.client_secret) properties.client_secret_expires_at = 0;
    request.checked = { kind: presented ? 'create' : 'update', token, metadata: result.metadata };
  }

  const features: Configuration['features'] = {
    registration: {
      enabled: true,
      initialAccessToken: true,
      policies: { [POLICY]: tokenPolicy as never },
      // Lower-case, like every client_id the registry accepts; "dyn-" tells a self-registered app at a glance.
      idFactory: () => `dyn-${randomBytes(16).toString('hex')}`,
      issueRegistrationAccessToken: true,
    },
    // RFC 7592 §2.2: a new registration access token with every update, the old one discarded.
    registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
  };

  const admin: TokenAdmin = { tokens, registrationEndpoint: `${deps.issuer}${REGISTRATION_PATH}` };

  return {
    features,
    /** The adapter for the models registration owns (InitialAccessToken, RegistrationAccessToken), else undefined. */
    adapter: (name: string) => adapters[name],
    clientWrites,
    middleware: registrationRequests(REGISTRATION_PATH),
    admin,
  };
}
export type DynamicRegistration = ReturnType<typeof createDynamicRegistration>;
