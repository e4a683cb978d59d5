// oidc-provider configured for yihao: our pages (no devInteractions), our keys, our storage,
// pairwise subjects by default, PKCE for every client, and claims keyed on the internal account id.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import Provider, { type Configuration, type KoaContextWithOIDC, type Adapter, type FindAccount } from 'oidc-provider';
import type { JWK } from 'jose';
import type { Accounts } from '../accounts/accounts.ts';
import type { ClientStore } from '../clients/store.ts';
import { clientAdapter } from '../clients/store.ts';
import { cachedAccountLookup } from '../accounts/account-cache.ts';
import type { Logger } from '../log.ts';
import { t } from '../interactions/i18n.ts';
import { requestLanguage } from '../interactions/language.ts';
import { pageCsp } from '../http/security-headers.ts';
import { cookieSigner } from '../http/cookie-keys.ts';
import { logoutConfirmPage, messagePage } from '../interactions/views.ts';
import { createOutgoingFetch } from './outgoing-fetch.ts';
import { interactionPolicyWithMinAcr } from './min-acr.ts';
import { keepClientInstances } from './client-instances.ts';
import { ADMIN_SCOPE, POLICY_PROPERTIES, SCOPE_CLAIMS, type ClientPolicy } from '../clients/policy.ts';
import type { DynamicRegistration } from '../registration/index.ts';

export { SCOPE_CLAIMS };
export const ACR_PASSWORD = 'urn:yihao:loa:1';

export interface ProviderOptions {
  issuer: string;
  production: boolean;
  jwks: { keys: JWK[] };
  cookieKeys: string[];
  pairwiseKey: string;
  ttl: { session: number; accessToken: number; refreshToken: number };
  adapter: (name: string) => Adapter;
  clients: ClientStore;
  accounts: Accounts;
  log: Logger;
  /** RFC 7591/7592 under initial access tokens (src/registration/); registration stays off without it. */
  registration?: DynamicRegistration;
}

/**
 * The pairwise `sub` (OIDC Core §8.1): per sector and per department. CAS services use it too (src/cas/identity.ts).
 * A string key is its UTF-8 bytes; the provider passes a KeyObject made once (the same bytes, the same subjects).
 */
export function pairwiseSubject(key: KeyObject | string, client: { department?: string; sectorIdentifier: string }, accountId: string): string {
  return createHmac('sha256', key).update(`${client.department ?? ''}\u0000${client.sectorIdentifier}\u0000${accountId}`).digest('base64url');
}

type ClientExtras = ClientPolicy;
const policyOf = (client: unknown) => (client ?? {}) as ClientExtras;

export function createProvider(o: ProviderOptions): Provider {
  const pairwiseKey = createSecretKey(o.pairwiseKey, 'utf8');
  const lookupAccount = cachedAccountLookup(o.accounts, { ttlMs: 5000, maxEntries: 50_000 });
  const findAccount: FindAccount = async (ctx, id) => {
    const account = await lookupAccount(id);
    if (!account || account.status !== 'active') return undefined;
    // A client limited to some claims (allowed_claims) gets only those, whatever its scopes release.
    const allowed = (ctx?.oidc?.client as unknown as ClientExtras | undefined)?.allowed_claims;
    const limit = <T extends Record<string, unknown>>(c: T) =>
      (allowed ? Object.fromEntries(Object.entries(c).filter(([k]) => k === 'sub' || allowed.includes(k))) : c) as T;
    return {
      accountId: id,
      async claims(_use, scope) {
        const scopes = new Set(scope.split(' '));
        if (allowed && !allowed.includes('id_number')) scopes.delete('id_number');
        return limit({
          sub: id,
          name: account.name,
          birthdate: account.birthdate ?? undefined,
          gender: account.gender ?? undefined,
          phone_number: account.phone ?? undefined,
          // Decrypted only when the granted scope asks for it; the library filters by grant as well.
          ...(scopes.has('id_number') ? { id_number: o.accounts.revealIdNumber(account) } : {}),
        });
      },
    };
  };

  const configuration: Configuration = {
    adapter: (name: string) => (name === 'Client' ? clientAdapter(o.clients, o.registration?.clientWrites) : (o.registration?.adapter(name) ?? o.adapter(name))) as Adapter,
    findAccount,
    jwks: o.jwks as Configuration['jwks'],
    cookies: {
      // Keygrip's signatures with keys prepared once (src/http/cookie-keys.ts); the library takes any Keygrip-like object.
      keys: cookieSigner(o.cookieKeys) as unknown as string[],
      long: { signed: true, httpOnly: true, sameSite: 'lax', secure: o.production },
      short: { signed: true, httpOnly: true, sameSite: 'lax', secure: o.production },
    },
    claims: { ...SCOPE_CLAIMS, acr: null, amr: null, auth_time: null, sid: null } as unknown as Configuration['claims'],
    scopes: ['openid', 'offline_access', 'profile', 'phone', 'id_number', ADMIN_SCOPE],
    acrValues: [ACR_PASSWORD],
    subjectTypes: ['public', 'pairwise'],
    // Pairwise per sector (OIDC Core §8.1) and per department, so two departments on one host still differ.
    pairwiseIdentifier: async (_ctx, accountId, client) =>
      pairwiseSubject(pairwiseKey, { department: (client as unknown as ClientExtras).department, sectorIdentifier: String(client.sectorIdentifier) }, accountId),
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      subject_type: 'pairwise',
    },
    extraClientMetadata: { properties: [...POLICY_PROPERTIES] },
    responseTypes: ['code'],
    // RFC 9700 §2.1.1: PKCE for every client, public or confidential.
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      ...o.registration?.features,
      // For automation at the admin API only: registration allows it only with scope admin:clients.
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A client may introspect only tokens issued to itself (the library's default allows any).
        allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
      },
      // RFC 7009 §2.1: a client may revoke only its own tokens.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, _form) {
          const lang = requestLanguage(ctx);
          // form-action governs the redirect after the post: allow the app's post-logout origin.
          const target = ctx.oidc.params?.post_logout_redirect_uri;
          ctx.set('Content-Security-Policy', pageCsp(typeof target === 'string' ? [new URL(target).origin] : []));
          ctx.type = 'html';
          ctx.body = logoutConfirmPage({
            lang,
            action: ctx.oidc.urlFor('end_session_confirm'),
            xsrf: (ctx.oidc.session?.state as { secret?: string } | undefined)?.secret ?? '',
            clientName: ctx.oidc.client?.clientName,
          });
        },
        async postLogoutSuccessSource(ctx) {
          const lang = requestLanguage(ctx);
          ctx.type = 'html';
          ctx.body = messagePage({ lang, title: t(lang).signedOutTitle, message: t(lang).signedOutMessage });
        },
      },
    },
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const client = ctx.oidc.client!;
      const session = ctx.oidc.session!;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (!(client as unknown as ClientExtras).first_party) return existing;
      // First-party department apps skip consent: the grant covers what the client may request.
      const grant = existing ?? new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId! });
      const requested = [...(ctx.oidc.requestParamScopes ?? [])].join(' ');
      if (!existing || requested.split(' ').some((s) => !grant.getOIDCScope().split(' ').includes(s))) {
        grant.addOIDCScope(requested);
        await grant.save();
      }
      return grant;
    },
    interactions: {
      policy: interactionPolicyWithMinAcr([ACR_PASSWORD]), // the levels our sign-in pages reach
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // Per-client lifetimes (access_token_ttl, refresh_token_ttl; bounded at registration) over the defaults.
    ttl: {
      AccessToken: (_ctx, _token, client) => policyOf(client).access_token_ttl ?? o.ttl.accessToken,
      AuthorizationCode: 60,
      ClientCredentials: (_ctx, _token, client) => policyOf(client).access_token_ttl ?? o.ttl.accessToken,
      IdToken: 600,
      Interaction: 3600, // elderly users and slow phones need time
      Session: o.ttl.session,
      // The grant caps its refresh-token chain: it lives as long as the client's refresh tokens.
      Grant: (_ctx, grant) => policyOf(o.clients.cached(grant.clientId ?? '')).refresh_token_ttl ?? o.ttl.refreshToken,
      RefreshToken: (_ctx, _token, client) => policyOf(client).refresh_token_ttl ?? o.ttl.refreshToken,
    },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    fetch: createOutgoingFetch(o.clients, { production: o.production, timeoutMs: 5000 }) as Configuration['fetch'],
    async renderError(ctx, out, error) {
      const lang = requestLanguage(ctx);
      o.log.warn('protocol error', { error: out.error, description: out.error_description, path: ctx.path });
      ctx.type = 'html';
      ctx.body = messagePage({
        lang,
        status: ctx.status,
        title: t(lang).errorTitle,
        message: `${out.error}: ${out.error_description ?? ''}`,
      });
      void error;
    },
    conformIdTokenClaims: true,
  } as Configuration;

  const provider = new Provider(o.issuer, configuration);
  keepClientInstances(provider, o.clients); // one Client per registration, not one hash per find
  provider.on('server_error', (_ctx, err) => o.log.error('provider server error', { err }));
  // Its protocol events reach the audit trail through src/oidc/protocol-audit.ts, mounted in src/app.ts.
  return provider;
}

