// One department app's registration file → the metadata oidc-provider reads.
// Standard OIDC / RFC 7591 fields plus ours (client_name, department, first_party, allowed_scopes).
// Every problem is reported at once, each tied to its field.
import { z } from 'zod';

export const SUPPORTED_SCOPES = ['openid', 'profile', 'phone', 'id_number', 'offline_access'] as const;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface FieldError { field: string; message: string }
export type ClientMetadata = Record<string, unknown> & { client_id: string };
export type RegistrationResult = { ok: true; metadata: ClientMetadata } | { ok: false; errors: FieldError[] };

export interface RegistrationContext { production: boolean; env: Record<string, string | undefined> }

const uriList = z.array(z.string()).default([]);

const RegistrationSchema = z.strictObject({
  client_id: z.string().regex(/^[a-z0-9][a-z0-9._-]{2,63}$/, 'must be 3–64 lower-case letters, digits, ".", "_" or "-"'),
  client_secret: z.string().optional(),
  client_name: z.string().trim().min(1, 'is required').max(100),
  department: z.string().trim().min(1, 'is required').max(100),
  first_party: z.boolean().default(false),
  allowed_scopes: z.array(z.enum(SUPPORTED_SCOPES)).default(['openid', 'profile']),
  redirect_uris: z.array(z.string()).min(1, 'at least one redirect URI is required'),
  post_logout_redirect_uris: uriList,
  grant_types: z.array(z.enum(['authorization_code', 'refresh_token', 'client_credentials'])).default(['authorization_code']),
  response_types: z.array(z.literal('code')).default(['code']),
  token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']).default('client_secret_basic'),
  backchannel_logout_uri: z.string().optional(),
  backchannel_logout_session_required: z.boolean().optional(),
  subject_type: z.enum(['pairwise', 'public']).default('pairwise'),
  sector_identifier_uri: z.string().optional(),
  id_token_signed_response_alg: z.enum(['ES256', 'RS256']).optional(),
  jwks_uri: z.string().optional(),
  contacts: z.array(z.string()).optional(),
  client_uri: z.string().optional(),
  logo_uri: z.string().optional(),
  policy_uri: z.string().optional(),
  tos_uri: z.string().optional(),
  description: z.string().optional(),
});

export type Registration = z.infer<typeof RegistrationSchema>;

function checkUri(field: string, value: string, ctx: RegistrationContext, errors: FieldError[], opts: { allowQuery: boolean }) {
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

export function parseRegistration(input: unknown, ctx: RegistrationContext): RegistrationResult {
  const parsed = RegistrationSchema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((i) => ({
        field: i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(', ') : '(file)'),
        message: i.code === 'unrecognized_keys' ? `unknown field${i.keys.length > 1 ? 's' : ''}: ${i.keys.join(', ')}` : i.message,
      })),
    };
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

  let secret: string | undefined = r.client_secret;
  const isPublic = r.token_endpoint_auth_method === 'none' || r.token_endpoint_auth_method === 'private_key_jwt';
  if (secret?.startsWith('env:')) {
    const name = secret.slice(4);
    secret = ctx.env[name];
    if (!secret) errors.push({ field: 'client_secret', message: `environment variable ${name} is not set` });
  }
  if (isPublic && r.client_secret) {
    errors.push({ field: 'client_secret', message: `must be absent when token_endpoint_auth_method is ${r.token_endpoint_auth_method}` });
  }
  if (!isPublic && !r.client_secret) errors.push({ field: 'client_secret', message: 'is required for a confidential client' });
  if (secret && !r.client_secret?.startsWith('env:') && secret.length < 32) {
    errors.push({ field: 'client_secret', message: 'must be at least 32 characters (or "env:NAME" to read it from the environment)' });
  }
  if (r.token_endpoint_auth_method === 'private_key_jwt' && !r.jwks_uri) errors.push({ field: 'jwks_uri', message: 'is required for private_key_jwt' });
  if (r.grant_types.includes('refresh_token') && !r.allowed_scopes.includes('offline_access')) {
    errors.push({ field: 'allowed_scopes', message: 'must include offline_access when grant_types includes refresh_token' });
  }
  if (!r.allowed_scopes.includes('openid') && r.grant_types.includes('authorization_code')) {
    errors.push({ field: 'allowed_scopes', message: 'must include openid for an OpenID Connect client' });
  }
  if (r.backchannel_logout_session_required !== undefined && !r.backchannel_logout_uri) {
    errors.push({ field: 'backchannel_logout_session_required', message: 'needs backchannel_logout_uri' });
  }
  if (errors.length) return { ok: false, errors };

  const { allowed_scopes, description: _description, client_secret: _secret, ...standard } = r;
  const metadata: ClientMetadata = {
    ...standard,
    // An "env:NAME" secret stays a reference in storage and is resolved when served (resolveSecret).
    ...(r.client_secret ? { client_secret: r.client_secret } : {}),
    scope: allowed_scopes.join(' '),
    ...(r.backchannel_logout_uri ? { backchannel_logout_session_required: r.backchannel_logout_session_required ?? true } : {}),
  };
  return { ok: true, metadata };
}

/** The secret oidc-provider compares against: "env:NAME" references are read from the environment. */
export function resolveSecret(metadata: ClientMetadata, env: Record<string, string | undefined>): ClientMetadata {
  const secret = metadata.client_secret;
  if (typeof secret !== 'string' || !secret.startsWith('env:')) return metadata;
  return { ...metadata, client_secret: env[secret.slice(4)] };
}
