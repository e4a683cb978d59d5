// What a client's registration imposes on the requests made for it: the claims each scope releases,
// the assurance level (acr) a sign-in must reach, and the bounds on its token lifetimes.
// Shared by registration validation (files and the admin API) and the provider configuration.

export const ADMIN_SCOPE = 'admin:clients';

// OIDC Core §5.4: the claims each scope releases. acr/amr/auth_time are filtered like any claim:
// mapping them to `openid` puts them in every ID token.
export const SCOPE_CLAIMS = {
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name', 'birthdate', 'gender'],
  phone: ['phone_number'],
  id_number: ['id_number'],
} as const;

/** Claims a client may be limited to with `allowed_claims` (sub and the authentication claims always go). */
export const RELEASABLE_CLAIMS = ['name', 'birthdate', 'gender', 'phone_number', 'id_number'] as const;
export const ALWAYS_RELEASED = new Set<string>(SCOPE_CLAIMS.openid);

export function claimsOfScopes(scopes: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const s of scopes) for (const c of (SCOPE_CLAIMS as Record<string, readonly string[]>)[s] ?? []) out.add(c);
  return out;
}

/**
 * Levels of assurance, weakest first (in the spirit of GB/T 31504 / ISO 29115 levels). A sign-in reaches
 * one of them; a client's `min_acr` asks for at least one. loa:1 is the password; loa:2 (a second factor)
 * is registered already so that clients can require it: until a sign-in method reaches it, their requests
 * fail with `unmet_authentication_requirements` instead of silently accepting less.
 */
export const ACR_LEVELS = ['urn:yihao:loa:1', 'urn:yihao:loa:2'] as const;
export type AcrLevel = typeof ACR_LEVELS[number];

/** -1 for an unknown or missing value: below every level, so it never satisfies a requirement. */
export const acrRank = (acr: unknown): number => ACR_LEVELS.indexOf(acr as AcrLevel);

export const meetsAcr = (acr: unknown, required: unknown): boolean =>
  required === undefined || required === null || (acrRank(acr) >= 0 && acrRank(acr) >= acrRank(required));

// Per-client lifetimes stay within these bounds (seconds). Access tokens are bearer tokens: an hour at most
// (RFC 9700 §4.10 short-lived); refresh tokens at most 30 days, within which the grant is re-approved.
export const TTL_BOUNDS = {
  access_token_ttl: { min: 60, max: 3600 },
  refresh_token_ttl: { min: 300, max: 30 * 24 * 3600 },
} as const;

/** The registration's policy fields as the provider's Client instance carries them (extraClientMetadata). */
export interface ClientPolicy {
  department?: string;
  first_party?: boolean;
  owner?: string;
  min_acr?: string;
  allowed_claims?: string[];
  access_token_ttl?: number;
  refresh_token_ttl?: number;
}

export const POLICY_PROPERTIES = ['department', 'first_party', 'owner', 'min_acr', 'allowed_claims', 'access_token_ttl', 'refresh_token_ttl'] as const;
