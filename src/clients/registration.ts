// One department app's registration (a file or an admin API body) → the metadata oidc-provider reads.
// Standard OIDC / RFC 7591 fields plus ours (client_name, department, owner, first_party, allowed_scopes and
// the per-client policy in policy.ts). Every problem is reported at once, each tied to its field.
import { z } from 'zod';
import { ACR_LEVELS, ADMIN_SCOPE, RELEASABLE_CLAIMS, TTL_BOUNDS, claimsOfScopes } from './policy.ts';
import { isCasRegistration, parseCasRegistration } from '../cas/registration.ts';

export const SUPPORTED_SCOPES = ['openid', 'profile', 'phone', 'id_number', 'offline_access', ADMIN_SCOPE] as const;
export const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface FieldError { field: string; message: string }
export type ClientMetadata = Record<string, unknown> & { client_id: string };
export type RegistrationResult = { ok: true; metadata: ClientMetadata; approval?: IdNumberApproval } | { ok: false; errors: FieldError[] };

export interface RegistrationContext {
  production: boolean;
  env: Record<string, string | undefined>;
  /**
   * Set by the admin API: the secret it keeps for this client (generated server-side, or the stored one).
   * A body may then carry no client_secret of its own.
   */
  managedSecret?: string;
  /** An approval to release id_number is already on record for this client (client_approvals). */
  idNumberApproved?: boolean;
  /** Whether id_number needs an approval record; default: in production (always for the admin API). */
  requireIdNumberApproval?: boolean;
}

const uriList = z.array(z.string()).default([]);
const ttl = (b: { min: number; max: number }) => z.number().int().min(b.min).max(b.max);

// Who approved releasing the clear ID number to this client, when, and on what legal basis
// (e.g. 《个人信息保护法》第十三条 and the department's own regulation). Stored in client_approvals.
export const IdNumberApprovalSchema = z.strictObject({
  approved_by: z.string().trim().min(1, 'is required').max(200),
  approved_at: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }),
  legal_basis: z.string().trim().min(1, 'is required').max(1000),
});
export type IdNumberApproval = z.infer<typeof IdNumberApprovalSchema>;

const REGISTRATION_FIELDS = {
  client_id: z.string().regex(/^[a-z0-9][a-z0-9._-]{2,63}$/, 'must be 3–64 lower-case letters, digits, ".", "_" or "-"'),
  client_secret: z.string().optional(),
  client_name: z.string().trim().min(1, 'is required').max(100),
  department: z.string().trim().min(1, 'is required').max(100),
  owner: z.string().trim().min(1).max(200).optional(),
  first_party: z.boolean().default(false),
  allowed_scopes: z.array(z.enum(SUPPORTED_SCOPES)).default(['openid', 'profile']),
  allowed_claims: z.array(z.enum(RELEASABLE_CLAIMS)).optional(),
  id_number_approval: IdNumberApprovalSchema.optional(),
  redirect_uris: uriList,
  post_logout_redirect_uris: uriList,
  grant_types: z.array(z.enum(['authorization_code', 'refresh_token', 'client_credentials'])).min(1).default(['authorization_code']),
  response_types: z.array(z.literal('code')).optional(),
  token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']).default('client_secret_basic'),
  backchannel_logout_uri: z.string().optional(),
  backchannel_logout_session_required: z.boolean().optional(),
  subject_type: z.enum(['pairwise', 'public']).default('pairwise'),
  min_acr: z.enum(ACR_LEVELS).optional(),
  access_token_ttl: ttl(TTL_BOUNDS.access_token_ttl).optional(),
  refresh_token_ttl: ttl(TTL_BOUNDS.refresh_token_ttl).optional(),
  sector_identifier_uri: z.string().optional(),
  id_token_signed_response_alg: z.enum(['ES256', 'RS256']).optional(),
  jwks_uri: z.string().optional(),
  contacts: z.array(z.string().trim().regex(/^(?:[^\s@]+@[^\s@]+\.[^\s@]+|\+?[\d -]{6,20})$/, 'must be an e-mail address or a phone number')).max(10).optional(),
  client_uri: z.string().optional(),
  logo_uri: z.string().optional(),
  policy_uri: z.string().optional(),
  tos_uri: z.string().optional(),
  description: z.string().optional(),
};

const withRedirectCheck = <T extends z.ZodObject>(schema: T) => schema.check(z.refine((r) => hasRedirectUri(r), {
  // Checked even when other fields fail, so that every error is reported at once.
  path: ['redirect_uris'], message: 'at least one redirect URI is required', when: () => true,
}));

/** A registration file. */
export const RegistrationSchema = withRedirectCheck(z.strictObject(REGISTRATION_FIELDS));
/** An admin API body: the same document, but the server generates the secret. */
export const ManagedRegistrationSchema = withRedirectCheck(z.strictObject((({ client_secret: _s, ...rest }) => rest)(REGISTRATION_FIELDS)));

// Only the authorization code flow sends the browser back to the app.
function hasRedirectUri(raw: unknown): boolean {
  const r = raw as { grant_types?: unknown; redirect_uris?: unknown };
  const codeFlow = !Array.isArray(r.grant_types) || r.grant_types.includes('authorization_code');
  return !codeFlow || (Array.isArray(r.redirect_uris) && r.redirect_uris.length > 0);
}

export type Registration = z.infer<typeof RegistrationSchema>;

/** An absolute https URL (http only for loopback in development), without fragment or credentials. */
export function checkUri(field: string, value: string, ctx: RegistrationContext, errors: FieldError[], opts: { allowQuery: boolean }) {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    errors.push({ field, message: 'must be an absolute URL' });
    return;
  }
  if (url.hash || value.includes('#')) errors.push({ field, message: 'must not contain a fragment (#)' });
  if (!opts.allowQuery && url.search) errors.push({ field, message: 'must not contain a query string' });
  if (url.username || url.password) errors.push({ field, message: 'must not contain credentials' });
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && !ctx.production && LOOPBACK_HOSTS.has(url.hostname)) return;
  errors.push({
    field,
    message: ctx.production ? 'must use https' : 'must use https (http is accepted only for localhost in development)',
  });
}

const MANAGED_SECRET = 'is generated by the server: leave it out (rotate it with POST /admin/api/clients/{client_id}/secret)';

export function parseRegistration(input: unknown, ctx: RegistrationContext): RegistrationResult {
  // A legacy app that speaks only CAS: its own fields, same rules for names and id_number (src/cas/).
  if (isCasRegistration(input)) return parseCasRegistration(input, ctx);
  const managed = ctx.managedSecret !== undefined;
  const parsed = RegistrationSchema.safeParse(input);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => ({
      field: i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(', ') : '(file)'),
      message: i.code === 'unrecognized_keys' ? `unknown field${i.keys.length > 1 ? 's' : ''}: ${i.keys.join(', ')}` : i.message,
    }));
    if (managed && (input as { client_secret?: unknown })?.client_secret !== undefined) errors.push({ field: 'client_secret', message: MANAGED_SECRET });
    return { ok: false, errors };
  }
  const r = parsed.data;
  const errors: FieldError[] = [];
  r.redirect_uris.forEach((u, i) => checkUri(`redirect_uris.${i}`, u, ctx, errors, { allowQuery: true }));
  r.post_logout_redirect_uris.forEach((u, i) => checkUri(`post_logout_redirect_uris.${i}`, u, ctx, errors, { allowQuery: true }));
  // mod_auth_openidc registers `…/redirect_uri?logout=backchannel`: a query string is legitimate here.
  if (r.backchannel_logout_uri) checkUri('backchannel_logout_uri', r.backchannel_logout_uri, ctx, errors, { allowQuery: true });
  for (const f of ['sector_identifier_uri', 'jwks_uri', 'client_uri', 'logo_uri', 'policy_uri', 'tos_uri'] as const) {
    if (r[f]) checkUri(f, r[f], ctx, errors, { allowQuery: true });
  }

  const isPublic = r.token_endpoint_auth_method === 'none' || r.token_endpoint_auth_method === 'private_key_jwt';
  if (managed && r.client_secret !== undefined) errors.push({ field: 'client_secret', message: MANAGED_SECRET });
  // The stored form: an "env:NAME" reference stays one; the admin API's secret is kept for confidential clients.
  const stored = managed ? (isPublic ? undefined : ctx.managedSecret) : r.client_secret;
  let secret = stored;
  if (secret?.startsWith('env:')) {
    const name = secret.slice(4);
    secret = ctx.env[name];
    if (!secret) errors.push({ field: 'client_secret', message: `environment variable ${name} is not set` });
  }
  if (!managed && isPublic && r.client_secret) {
    errors.push({ field: 'client_secret', message: `must be absent when token_endpoint_auth_method is ${r.token_endpoint_auth_method}` });
  }
  if (!isPublic && !stored) errors.push({ field: 'client_secret', message: 'is required for a confidential client' });
  // The stored form of a sealed secret (src/clients/secret-seal.ts): a file's own secret is never taken for one.
  if (!managed && r.client_secret?.startsWith('sealed:')) errors.push({ field: 'client_secret', message: 'must not begin with "sealed:" (the form secrets are stored in)' });
  if (secret && !stored?.startsWith('env:') && secret.length < 32) {
    errors.push({ field: 'client_secret', message: 'must be at least 32 characters (or "env:NAME" to read it from the environment)' });
  }
  if (r.token_endpoint_auth_method === 'private_key_jwt' && !r.jwks_uri) errors.push({ field: 'jwks_uri', message: 'is required for private_key_jwt' });
  errors.push(...policyErrors(r, ctx));
  if (errors.length) return { ok: false, errors };

  const codeFlow = r.grant_types.includes('authorization_code');
  // Keys in the schema's order, so that the stored metadata (and the hash `clients apply` compares) is stable.
  const fields: Record<string, unknown> = {};
  for (const k of Object.keys(REGISTRATION_FIELDS) as (keyof typeof r)[]) {
    const v = k === 'response_types' ? (codeFlow ? ['code'] : []) : r[k];
    if (v !== undefined) fields[k] = v;
  }
  const { allowed_scopes, description: _description, client_secret: _secret, id_number_approval: approval, ...standard } = fields as typeof r;
  const metadata: ClientMetadata = {
    ...(standard as ClientMetadata),
    ...(stored ? { client_secret: stored } : {}),
    scope: allowed_scopes.join(' '),
    ...(r.backchannel_logout_uri ? { backchannel_logout_session_required: r.backchannel_logout_session_required ?? true } : {}),
  };
  return approval ? { ok: true, metadata, approval } : { ok: true, metadata };
}

// Cross-field rules: what the scopes, grants and policy fields require of one another.
function policyErrors(r: Registration, ctx: RegistrationContext): FieldError[] {
  const errors: FieldError[] = [];
  const scopes = r.allowed_scopes;
  const grants = r.grant_types;
  const codeFlow = grants.includes('authorization_code');
  if (grants.includes('refresh_token') && !scopes.includes('offline_access')) {
    errors.push({ field: 'allowed_scopes', message: 'must include offline_access when grant_types includes refresh_token' });
  }
  if (grants.includes('refresh_token') && !codeFlow) errors.push({ field: 'grant_types', message: 'refresh_token needs authorization_code' });
  if (!scopes.includes('openid') && codeFlow) {
    errors.push({ field: 'allowed_scopes', message: 'must include openid for an OpenID Connect client' });
  }
  if (r.response_types?.length && !codeFlow) errors.push({ field: 'response_types', message: 'code needs the authorization_code grant' });
  if (r.response_types && !r.response_types.length && codeFlow) errors.push({ field: 'response_types', message: 'must be ["code"] for the authorization_code grant' });
  // Machine-to-machine tokens exist only for the admin API so far: a client_credentials client is an administrator.
  if (grants.includes('client_credentials') && !scopes.includes(ADMIN_SCOPE)) {
    errors.push({ field: 'grant_types', message: `client_credentials is allowed only with scope ${ADMIN_SCOPE}` });
  }
  if (scopes.includes(ADMIN_SCOPE) && r.token_endpoint_auth_method === 'none') {
    errors.push({ field: 'token_endpoint_auth_method', message: `a client with scope ${ADMIN_SCOPE} must authenticate (not none)` });
  }
  if (r.backchannel_logout_session_required !== undefined && !r.backchannel_logout_uri) {
    errors.push({ field: 'backchannel_logout_session_required', message: 'needs backchannel_logout_uri' });
  }
  if (r.refresh_token_ttl !== undefined && !grants.includes('refresh_token')) {
    errors.push({ field: 'refresh_token_ttl', message: 'needs the refresh_token grant' });
  }
  const released = claimsOfScopes(scopes);
  r.allowed_claims?.forEach((c, i) => {
    if (!released.has(c)) errors.push({ field: `allowed_claims.${i}`, message: `${c} is not released by any of allowed_scopes` });
  });
  const idNumber = scopes.includes('id_number');
  if (idNumber && !r.id_number_approval && !ctx.idNumberApproved && (ctx.requireIdNumberApproval ?? ctx.production)) {
    errors.push({ field: 'id_number_approval', message: 'is required to release id_number: who approved it (approved_by), when (approved_at) and on what legal basis (legal_basis)' });
  }
  if (r.id_number_approval && !idNumber) errors.push({ field: 'id_number_approval', message: 'applies only when allowed_scopes includes id_number' });
  if (r.id_number_approval && Date.parse(r.id_number_approval.approved_at) > Date.now() + 5 * 60_000) {
    errors.push({ field: 'id_number_approval.approved_at', message: 'must not be in the future' });
  }
  return errors;
}

/** The secret oidc-provider compares against: "env:NAME" references are read from the environment. */
export function resolveSecret(metadata: ClientMetadata, env: Record<string, string | undefined>): ClientMetadata {
  const secret = metadata.client_secret;
  if (typeof secret !== 'string' || !secret.startsWith('env:')) return metadata;
  return { ...metadata, client_secret: env[secret.slice(4)] };
}
