// What a department may register by itself with an initial access token (docs/dynamic-registration.md).
// An RFC 7591 request becomes the same registration document a file or the admin API carries, checked by
// the same rules (parseRegistration), then held to the token's policy: scopes within its list, every URI on
// one of its hosts, the department forced to its own, never first-party (a consent page always), pairwise.
import { errors } from 'oidc-provider';
import { RegistrationSchema, parseRegistration, type ClientMetadata, type FieldError } from '../clients/registration.ts';

/** Scopes an initial access token may allow. id_number needs an approval record; admin:clients is for administrators. */
export const SELF_REGISTRATION_SCOPES = ['openid', 'profile', 'phone', 'offline_access'] as const;

export const NEVER_SELF_REGISTERED: Record<string, string> = {
  id_number: 'id_number is never granted through self-registration: an administrator registers such an app, with an approval record',
  'admin:clients': 'admin:clients is never granted through self-registration',
};

/** The policy an initial access token carries. */
export interface TokenPolicy {
  department: string;
  allowed_scopes: string[];
  redirect_hosts: string[];
}

/**
 * An allow-list entry: a host name (punycode for internationalised names), an IP literal, or `*.example.gov.cn`
 * for any host below that domain (not the domain itself). No scheme, port or path. Undefined when invalid.
 */
export function normalizeHostPattern(input: string): string | undefined {
  const wildcard = input.startsWith('*.');
  let url: URL;
  try {
    url = new URL(`http://${wildcard ? input.slice(2) : input}/`);
  } catch {
    return undefined;
  }
  if (url.port || url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
  const host = url.hostname;
  if (!/^(?:\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)$/.test(host) || host.includes('..')) return undefined;
  if (wildcard && (host.startsWith('[') || /^[\d.]+$/.test(host) || !host.includes('.'))) return undefined;
  return wildcard ? `*.${host}` : host;
}

export function hostAllowed(hostname: string, patterns: readonly string[]): boolean {
  const host = hostname.toLowerCase();
  return patterns.some((p) => (p.startsWith('*.') ? host.endsWith(p.slice(1)) : host === p));
}

// Fields of the registration document (src/clients/registration.ts); anything else in a request is
// metadata we do not use, which RFC 7591 §2 says to ignore.
const DOCUMENT_FIELDS = new Set(Object.keys(RegistrationSchema.shape));
// Set by the server, whatever the request says: from the token (department, scopes), or fixed for every
// self-registered app (first_party, subject_type), or never available here (id_number_approval).
const SET_BY_SERVER = new Set(['client_id', 'department', 'first_party', 'subject_type', 'allowed_scopes', 'id_number_approval']);
const URI_FIELDS = ['redirect_uris', 'post_logout_redirect_uris', 'backchannel_logout_uri', 'sector_identifier_uri', 'jwks_uri', 'client_uri', 'logo_uri', 'policy_uri', 'tos_uri'] as const;

export type SelfRegistration = { ok: true; metadata: ClientMetadata } | { ok: false; errors: FieldError[] };

/**
 * properties: the request's metadata as oidc-provider hands it to a registration policy (with client_id,
 * and the client_secret it generated or keeps). Every problem is returned at once, named by its RFC 7591 field.
 */
export function selfRegistration(properties: Record<string, unknown>, policy: TokenPolicy, o: { production: boolean }): SelfRegistration {
  const document: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(properties)) if (DOCUMENT_FIELDS.has(k) && !SET_BY_SERVER.has(k)) document[k] = v;
  const { scopes, errors: scopeErrors } = requestedScopes(properties.scope, policy);
  Object.assign(document, { client_id: properties.client_id, department: policy.department, first_party: false, subject_type: 'pairwise', allowed_scopes: scopes });
  // An RFC 7592 update sends back what a read returned (§2.2), the library's defaults included.
  if (document.backchannel_logout_session_required === false && document.backchannel_logout_uri === undefined) delete document.backchannel_logout_session_required;

  const parsed = parseRegistration(document, { production: o.production, env: {}, requireIdNumberApproval: true });
  const found = [
    ...nulErrors({ ...document, scope: properties.scope }),
    ...scopeErrors,
    ...(parsed.ok ? [] : parsed.errors.map((e) => ({
      field: e.field.replace(/^allowed_scopes(\.\d+)?$/, 'scope'),
      message: /^Invalid input: expected \w+, received undefined$/.test(e.message) ? 'is required' : e.message,
    }))),
    ...hostErrors(document, policy),
  ];
  if (!parsed.ok || found.length) return { ok: false, errors: found };
  return { ok: true, metadata: parsed.metadata };
}

// RFC 7591 §2: `scope` is a space-separated string; left out, the client gets what the token allows.
function requestedScopes(scope: unknown, policy: TokenPolicy): { scopes: string[]; errors: FieldError[] } {
  if (scope === undefined) return { scopes: [...policy.allowed_scopes], errors: [] };
  if (typeof scope !== 'string') return { scopes: ['openid'], errors: [{ field: 'scope', message: 'must be a string of space-separated scope values' }] };
  const requested = [...new Set(scope.split(' ').filter(Boolean))];
  const errors: FieldError[] = requested.filter((s) => !policy.allowed_scopes.includes(s)).map((s) => ({
    field: 'scope',
    message: NEVER_SELF_REGISTERED[s] ?? `${s} is not allowed by this initial access token (allowed: ${policy.allowed_scopes.join(' ')})`,
  }));
  return { scopes: requested.filter((s) => policy.allowed_scopes.includes(s)), errors };
}

// PostgreSQL text and jsonb cannot hold U+0000: refused here rather than failing in the database.
function nulErrors(value: unknown, path: string[] = []): FieldError[] {
  if (typeof value === 'string') return value.includes('\u0000') ? [{ field: path.join('.') || '(body)', message: 'must not contain U+0000' }] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => nulErrors(v, [...path, String(i)]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => nulErrors(v, [...path, k]));
  return [];
}

function hostErrors(document: Record<string, unknown>, policy: TokenPolicy): FieldError[] {
  const errors: FieldError[] = [];
  const check = (field: string, value: unknown) => {
    if (typeof value !== 'string') return;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return; // parseRegistration reports it
    }
    if (!hostAllowed(url.hostname, policy.redirect_hosts)) {
      errors.push({ field, message: `host ${url.hostname} is not in this initial access token's allow-list (${policy.redirect_hosts.join(', ')})` });
    }
  };
  for (const f of URI_FIELDS) {
    const v = document[f];
    if (Array.isArray(v)) v.forEach((u, i) => check(`${f}.${i}`, u));
    else check(f, v);
  }
  return errors;
}

const REDIRECT_FIELD = /^(?:redirect_uris|post_logout_redirect_uris)(?:\.\d+)?$/;

/** RFC 7591 §3.2.2: invalid_redirect_uri when only redirection URIs are at fault, else invalid_client_metadata. */
export function registrationError(found: FieldError[]): InstanceType<typeof errors.CustomOIDCProviderError> {
  const description = found.map((e) => `${e.field}: ${e.message}`).join('; ');
  const code = found.every((e) => REDIRECT_FIELD.test(e.field)) ? 'invalid_redirect_uri' : 'invalid_client_metadata';
  return new errors.CustomOIDCProviderError(code, description);
}
