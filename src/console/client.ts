// The console is a first-party OIDC client of yihao itself, as every CAS service is (src/cas/internal-client.ts):
// administrators sign in on the citizens' own login page, the console keeps a short session of its own bound
// to the yihao session's sid, and when that session ends the provider's back-channel logout reaches
// /admin/backchannel-logout like any other app. The registration is built in, not stored: it cannot be
// changed, disabled or deleted through the admin API, and a stored client with the same id is shadowed.
import type { ClientMetadata } from '../clients/registration.ts';

export const CONSOLE_CLIENT_ID = 'yihao-console';

export const CONSOLE_PATHS = {
  base: '/admin',
  callback: '/admin/callback',
  signOut: '/admin/sign-out',
  signedOut: '/admin/signed-out',
  backchannelLogout: '/admin/backchannel-logout',
  stylesheet: '/admin/assets/console.css',
} as const;

export function consoleClientMetadata(issuer: string): ClientMetadata {
  return {
    client_id: CONSOLE_CLIENT_ID,
    client_name: '一号管理控制台',
    department: 'yihao',
    first_party: true,
    scope: 'openid',
    redirect_uris: [`${issuer}${CONSOLE_PATHS.callback}`],
    post_logout_redirect_uris: [`${issuer}${CONSOLE_PATHS.signedOut}`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // The code never leaves yihao (/admin/callback reads it in-process); PKCE binds it to the sign-in started.
    token_endpoint_auth_method: 'none',
    backchannel_logout_uri: `${issuer}${CONSOLE_PATHS.backchannelLogout}`,
    backchannel_logout_session_required: true,
    subject_type: 'pairwise',
  };
}
