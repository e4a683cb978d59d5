// A legacy app that speaks only CAS, registered in the same folder as the OIDC apps with
// `"protocol": "cas"`: which service URLs may receive tickets, and which attributes the p3 validation
// releases. Every problem is reported at once, each tied to its field, like parseRegistration.
//
// clients/registration.ts dispatches here, and this module reads its approval schema: the schema is
// built on first use so that the import cycle never touches a value before it exists.
import { z } from 'zod';
import { checkUri, IdNumberApprovalSchema, type ClientMetadata, type FieldError, type RegistrationContext, type RegistrationResult } from '../clients/registration.ts';
import { RELEASABLE_CLAIMS, SCOPE_CLAIMS } from '../clients/policy.ts';
import { parseServicePrefix } from './services.ts';

export const CAS_PROTOCOL = 'cas';
const CAS_SCOPES = ['openid', 'profile', 'phone', 'id_number'] as const;

/** The stored registration of a CAS service (what the file says, normalised). */
export interface CasRegistration extends ClientMetadata {
  protocol: 'cas';
  client_name: string;
  department: string;
  first_party: boolean;
  cas_services: string[];
  released_attributes: string[];
  logout_url?: string;
  /** The OIDC scopes that cover released_attributes (and the approval of id_number): what the login asks for. */
  scope: string;
}

export function isCasRegistration(value: unknown): value is CasRegistration {
  return typeof value === 'object' && value !== null && (value as { protocol?: unknown }).protocol === CAS_PROTOCOL;
}

/** The scope that releases each claim (OIDC Core §5.4, as the provider maps them). */
export function scopeOfAttribute(claim: string): string | undefined {
  return Object.entries(SCOPE_CLAIMS).find(([, claims]) => (claims as readonly string[]).includes(claim))?.[0];
}

let schema: ReturnType<typeof buildSchema> | undefined;
function buildSchema() {
  return z.strictObject({
    protocol: z.literal(CAS_PROTOCOL),
    client_id: z.string().regex(/^[a-z0-9][a-z0-9._-]{2,63}$/, 'must be 3–64 lower-case letters, digits, ".", "_" or "-"'),
    client_name: z.string().trim().min(1, 'is required').max(100),
    department: z.string().trim().min(1, 'is required').max(100),
    owner: z.string().trim().min(1).max(200).optional(),
    first_party: z.boolean().default(false),
    cas_services: z.array(z.string()).min(1, 'at least one service URL prefix is required').max(50),
    released_attributes: z.array(z.enum(RELEASABLE_CLAIMS)).default([]),
    allowed_scopes: z.array(z.enum(CAS_SCOPES)).optional(),
    id_number_approval: IdNumberApprovalSchema.optional(),
    logout_url: z.string().optional(),
    description: z.string().optional(),
  });
}

export function parseCasRegistration(input: unknown, ctx: RegistrationContext): RegistrationResult {
  schema ??= buildSchema();
  const parsed = schema.safeParse(input);
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

  const hosts = new Set<string>();
  r.cas_services.forEach((value, i) => {
    const prefix = parseServicePrefix(value, { production: ctx.production });
    if (!prefix.ok) errors.push({ field: `cas_services.${i}`, message: prefix.message });
    else hosts.add(prefix.url.host);
  });
  // The pairwise subject (<cas:user>) is computed per sector, the services' host (OIDC Core §8.1): one
  // registration cannot span hosts, or one person would get one identifier for two unrelated sites.
  if (hosts.size > 1) {
    errors.push({ field: 'cas_services', message: `must all name one host (scheme, port and path may differ), found ${[...hosts].join(', ')}: register one CAS client per host` });
  }
  if (r.logout_url) checkUri('logout_url', r.logout_url, ctx, errors, { allowQuery: true });

  // The scopes the released attributes need; allowed_scopes, when given, must cover them.
  const needed = new Set<string>(['openid']);
  for (const a of r.released_attributes) needed.add(scopeOfAttribute(a)!);
  if (r.allowed_scopes) {
    r.released_attributes.forEach((a, i) => {
      if (!r.allowed_scopes!.includes(scopeOfAttribute(a) as never)) {
        errors.push({ field: `released_attributes.${i}`, message: `${a} needs scope ${scopeOfAttribute(a)} in allowed_scopes` });
      }
    });
  }
  // The clear ID number goes only to services approved for it, exactly as for OIDC clients: listed in
  // allowed_scopes, and with an approval on record where one is required.
  const idNumber = r.released_attributes.includes('id_number');
  if (idNumber && !r.allowed_scopes?.includes('id_number')) {
    errors.push({ field: 'allowed_scopes', message: 'must include id_number to release the id_number attribute (an approved release, as for OIDC clients)' });
  }
  if (idNumber && !r.id_number_approval && !ctx.idNumberApproved && (ctx.requireIdNumberApproval ?? ctx.production)) {
    errors.push({ field: 'id_number_approval', message: 'is required to release id_number: who approved it (approved_by), when (approved_at) and on what legal basis (legal_basis)' });
  }
  if (r.id_number_approval && !idNumber) errors.push({ field: 'id_number_approval', message: 'applies only when released_attributes includes id_number' });
  if (r.id_number_approval && Date.parse(r.id_number_approval.approved_at) > Date.now() + 5 * 60_000) {
    errors.push({ field: 'id_number_approval.approved_at', message: 'must not be in the future' });
  }
  if (errors.length) return { ok: false, errors };

  const metadata: CasRegistration = {
    protocol: 'cas',
    client_id: r.client_id,
    client_name: r.client_name,
    department: r.department,
    ...(r.owner ? { owner: r.owner } : {}),
    first_party: r.first_party,
    cas_services: r.cas_services,
    released_attributes: r.released_attributes,
    ...(r.logout_url ? { logout_url: r.logout_url } : {}),
    scope: CAS_SCOPES.filter((s) => needed.has(s)).join(' '),
  };
  return r.id_number_approval ? { ok: true, metadata, approval: r.id_number_approval } : { ok: true, metadata };
}
