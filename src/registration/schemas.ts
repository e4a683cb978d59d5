// The admin API's bodies for initial access tokens: zod definitions used by the routes at run time and by
// the OpenAPI document (named in the admin API's component registry).
import { z } from 'zod';
import { components } from '../admin/schemas.ts';
import { NEVER_SELF_REGISTERED, SELF_REGISTRATION_SCOPES, normalizeHostPattern } from './policy.ts';

const named = <T extends z.ZodType>(id: string, schema: T): T => {
  components.add(schema, { id });
  return schema;
};

/** At most 30 days: a token is for a round of test registrations, not a standing credential. */
export const MAX_TOKEN_LIFETIME = 30 * 24 * 3600;
const timestamp = z.iso.datetime({ offset: true });

const scope = z.enum(SELF_REGISTRATION_SCOPES, {
  error: (issue) => NEVER_SELF_REGISTERED[String(issue.input)] ?? `must be one of ${SELF_REGISTRATION_SCOPES.join(', ')}`,
});

const hostPattern = z.string().max(253).refine((s) => normalizeHostPattern(s) !== undefined, {
  message: 'must be a host name, an IP address, or *.domain (no scheme, port or path)',
});

export const TokenIssueSchema = named('InitialAccessTokenIssue', z.strictObject({
  department: z.string().trim().min(1, 'is required').max(100)
    .meta({ description: 'The department whose apps may register: forced on every client registered with the token' }),
  allowed_scopes: z.array(scope).min(1).max(SELF_REGISTRATION_SCOPES.length)
    .refine((a) => a.includes('openid'), 'must include openid')
    .refine((a) => new Set(a).size === a.length, 'must not repeat a scope')
    .meta({ description: 'A registered client may ask for these scopes only (id_number and admin:clients never)' }),
  redirect_host_allowlist: z.array(hostPattern).min(1).max(50)
    .meta({ description: 'Every URI a client registers (redirect, logout, back-channel, jwks…) must be on one of these hosts; *.example.gov.cn allows any host below that domain' }),
  expires_in: z.number().int().min(60).max(MAX_TOKEN_LIFETIME).meta({ description: 'Lifetime in seconds, at most 30 days' }),
  max_registrations: z.number().int().min(1).max(1000).optional().meta({ description: 'How many clients the token may register; unlimited within its lifetime when absent' }),
  description: z.string().trim().max(500).optional().meta({ description: 'What the token is for, for the administrators who list it' }),
}));

export const TokenSchema = named('InitialAccessToken', z.strictObject({
  id: z.string().meta({ description: 'The token\'s public id (never its value): audit events of registrations made with it name it as iat:<id>' }),
  department: z.string(),
  allowed_scopes: z.array(z.string()),
  redirect_host_allowlist: z.array(z.string()),
  max_registrations: z.number().int().nullable(),
  registrations: z.number().int(),
  client_ids: z.array(z.string()).meta({ description: 'Clients registered with the token (deleted ones included)' }),
  description: z.string().nullable(),
  status: z.enum(['active', 'expired', 'revoked', 'used_up']),
  created_by: z.string(),
  created_at: timestamp,
  expires_at: timestamp,
  revoked_at: timestamp.nullable(),
  revoked_by: z.string().nullable(),
}));

export const IssuedTokenSchema = named('IssuedInitialAccessToken', TokenSchema.extend({
  token: z.string().meta({ description: 'The token value: give it to the department now, it is not shown again' }),
  registration_endpoint: z.string().meta({ description: 'Where the department registers its apps (RFC 7591), with Authorization: Bearer <token>' }),
}));

export const TokenListSchema = named('InitialAccessTokenList', z.strictObject({ initial_access_tokens: z.array(TokenSchema) }));

export const TokenIdParams = z.strictObject({ token_id: z.string().min(1).max(64) });

export const TokenListQuery = z.strictObject({
  department: z.string().min(1).max(100).optional().meta({ description: 'Only this department\'s tokens (exact match)' }),
  status: z.enum(['active', 'expired', 'revoked', 'used_up']).optional(),
});
