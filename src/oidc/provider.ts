// oidc-provider configured for yihao: our pages (no devInteractions), our keys, our storage,
// pairwise subjects by default, PKCE for every client, and claims keyed on the internal account id.
import { createHmac } from 'node:crypto';
import Provider, { type Configuration, type KoaContextWithOIDC, type Adapter, type FindAccount } from 'oidc-provider';
import type { JWK } from 'jose';
import type { Accounts } from '../accounts/accounts.ts';
import type { ClientStore } from '../clients/store.ts';
import { clientAdapter } from '../clients/store.ts';
import { cachedAccountLookup } from '../accounts/account-cache.ts';
import type { Audit } from '../audit/audit.ts';
import type { Logger } from '../log.ts';
import { t } from '../interactions/i18n.ts';
import { requestLanguage } from '../interactions/language.ts';
import { pageCsp } from '../http/security-headers.ts';
import { logoutConfirmPage, messagePage } from '../interactions/views.ts';
import { createOutgoingFetch } from './outgoing-fetch.ts';

export const ACR_PASSWORD = 'urn:yihao:loa:1';
export const SCOPE_CLAIMS = {
  // acr/amr/auth_time are filtered like any claim: mapping them to `openid` puts them in every ID token.
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name', 'birthdate', 'gender'],
  phone: ['phone_number'],
  id_number: ['id_number'],
} as const;

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
  audit: Audit;
  log: Logger;
}

type ClientExtras = { first_party?: boolean; department?: string };

export function createProvider(o: ProviderOptions): Provider {
  const lookupAccount = cachedAccountLookup(o.accounts, { ttlMs: 5000, maxEntries: 50_000 });
  const findAccount: FindAccount = async (_ctx, id) => {
    const account = await lookupAccount(id);
    if (!account || account.status !== 'active') return undefined;
    return {
      accountId: id,
      async claims(_use, scope) {
        const scopes = new Set(scope.split(' '));
        return {
          sub: id,
          name: account.name,
          birthdate: account.birthdate ?? undefined,
          gender: account.gender ?? undefined,
          phone_number: account.phone ?? undefined,
          // Decrypted only when the granted scope asks for it; the library filters by grant as well.
          ...(scopes.has('id_number') ? { id_number: o.accounts.revealIdNumber(account) } : {}),
        };
      },
    };
  };

  const configuration: Configuration = {
    adapter: (name: string) => (name === 'Client' ? clientAdapter(o.clients) : o.adapter(name)) as Adapter,
    findAccount,
    jwks: o.jwks as Configuration['jwks'],
    cookies: {
      keys: o.cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: 'lax', secure: o.production },
      short: { signed: true, httpOnly: true, sameSite: 'lax', secure: o.production },
    },
    claims: { ...SCOPE_CLAIMS, acr: null, amr: null, auth_time: null, sid: null } as unknown as Configuration['claims'],
    scopes: ['openid', 'offline_access', 'profile', 'phone', 'id_number'],
    acrValues: [ACR_PASSWORD],
    subjectTypes: ['public', 'pairwise'],
    // Pairwise per sector (OIDC Core §8.1) and per department, so two departments on one host still differ.
    pairwiseIdentifier: async (_ctx, accountId, client) =>
      createHmac('sha256', o.pairwiseKey)
        .update(`${(client as unknown as ClientExtras).department ?? ''}\u0000${client.sectorIdentifier}\u0000${accountId}`)
        .digest('base64url'),
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      subject_type: 'pairwise',
    },
    extraClientMetadata: { properties: ['department', 'first_party'] },
    responseTypes: ['code'],
    // RFC 9700 §2.1.1: PKCE for every client, public or confidential.
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
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
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: o.ttl.accessToken,
      AuthorizationCode: 60,
      ClientCredentials: o.ttl.accessToken,
      IdToken: 600,
      Interaction: 3600, // elderly users and slow phones need time
      Session: o.ttl.session,
      Grant: o.ttl.refreshToken,
      RefreshToken: o.ttl.refreshToken,
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
  provider.on('server_error', (_ctx, err) => o.log.error('provider server error', { err }));
  provider.on('backchannel.error', (ctx, err, client, accountId, sid) => {
    o.log.warn('back-channel logout failed', { clientId: client.clientId, err });
    void o.audit.record({ type: 'logout.backchannel', outcome: 'failure', actor: accountId, clientId: client.clientId, sessionId: sid, ip: ctx?.ip, details: { error: err.message } }).catch(() => {});
  });
  provider.on('backchannel.success', (ctx, client, accountId, sid) => {
    void o.audit.record({ type: 'logout.backchannel', outcome: 'success', actor: accountId, clientId: client.clientId, sessionId: sid, ip: ctx?.ip }).catch(() => {});
  });
  return provider;
}
