// The citizen's own pages ("my apps", docs/my-apps.md) are a first-party OIDC client of yihao itself, as the
// admin console is (src/console/client.ts): a person signs in on the usual login page — or not at all when
// their SSO session is alive — and the page keeps a short session of its own bound to that SSO session. The
// registration is built in, not stored: it cannot be changed, disabled or deleted, and a stored client with
// the same id is shadowed.
import type { ClientMetadata } from '../clients/registration.ts';
import { CONSOLE_CLIENT_ID } from '../console/client.ts';

export const ACCOUNT_CLIENT_ID = 'yihao-account';

export const ACCOUNT_PATHS = {
  base: '/account',
  apps: '/account/apps',
  callback: '/account/callback',
  stylesheet: '/account/assets/account.css',
} as const;

/** yihao's own clients: a person's access to them is not an app they granted, and is not listed or withdrawn. */
export const BUILT_IN_CLIENTS: ReadonlySet<string> = new Set([ACCOUNT_CLIENT_ID, CONSOLE_CLIENT_ID]);

export function accountClientMetadata(issuer: string): ClientMetadata {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: '一号 我的应用',
    department: 'yihao',
    first_party: true,
    scope: 'openid',
    redirect_uris: [`${issuer}${ACCOUNT_PATHS.callback}`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // The code never leaves yihao (/account/callback reads it in-process); PKCE binds it to the sign-in started.
    token_endpoint_auth_method: 'none',
    subject_type: 'pairwise',
  };
}
