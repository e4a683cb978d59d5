// The admin API's request and response bodies: one zod definition each, used by the routes at run time,
// by the OpenAPI document (z.toJSONSchema) and by the tests that check responses against it.
import { z } from 'zod';
import { IdNumberApprovalSchema, ManagedRegistrationSchema, RegistrationSchema } from '../clients/registration.ts';

/** Named schemas, emitted as #/components/schemas/<id>. */
export const components = z.registry<{ id: string }>();
const named = <T extends z.ZodType>(id: string, schema: T): T => {
  components.add(schema, { id });
  return schema;
};

const shape = RegistrationSchema.shape;
const timestamp = z.iso.datetime({ offset: true });

export const FieldErrorSchema = named('FieldError', z.strictObject({
  field: z.string().meta({ description: 'The field in error, dotted for nested and list items (redirect_uris.0)' }),
  message: z.string(),
}));

export const ErrorSchema = named('Error', z.strictObject({
  error: z.string().meta({ description: 'invalid_client_metadata, invalid_request, invalid_token, insufficient_scope, not_found, conflict, method_not_allowed, unsupported_media_type, temporarily_unavailable, server_error' }),
  error_description: z.string().optional(),
  errors: z.array(FieldErrorSchema).optional().meta({ description: 'Every field error at once (invalid_client_metadata, invalid_request)' }),
}));

export const ApprovalSchema = named('IdNumberApprovalRecord', IdNumberApprovalSchema.extend({
  recorded_by: z.string().meta({ description: 'The administrator who entered the approval (account id, client:<id> or cli)' }),
  recorded_at: timestamp,
}));

/** The registration as an administrator sees it: every field it may carry, never the secret. */
export const ClientSchema = named('Client', z.strictObject({
  client_id: z.string(),
  client_name: shape.client_name.optional(),
  department: shape.department.optional(),
  owner: shape.owner,
  contacts: shape.contacts,
  first_party: z.boolean().optional(),
  allowed_scopes: z.array(z.string()),
  allowed_claims: shape.allowed_claims,
  redirect_uris: z.array(z.string()).optional(),
  post_logout_redirect_uris: z.array(z.string()).optional(),
  grant_types: z.array(z.string()).optional(),
  response_types: z.array(z.string()).optional(),
  token_endpoint_auth_method: z.string().optional(),
  backchannel_logout_uri: z.string().optional(),
  backchannel_logout_session_required: z.boolean().optional(),
  subject_type: z.enum(['pairwise', 'public']).optional(),
  min_acr: shape.min_acr,
  access_token_ttl: shape.access_token_ttl,
  refresh_token_ttl: shape.refresh_token_ttl,
  sector_identifier_uri: z.string().optional(),
  id_token_signed_response_alg: z.string().optional(),
  jwks_uri: z.string().optional(),
  client_uri: z.string().optional(),
  logo_uri: z.string().optional(),
  policy_uri: z.string().optional(),
  tos_uri: z.string().optional(),
  // A legacy app registered for CAS (docs/cas.md) is administered here too.
  protocol: z.literal('cas').optional().meta({ description: 'cas for an app that speaks only CAS; absent for OpenID Connect' }),
  cas_services: z.array(z.string()).optional(),
  released_attributes: z.array(z.string()).optional(),
  logout_url: z.string().optional(),
  id_number_approval: ApprovalSchema.nullable().meta({ description: 'The approval in force to release id_number, if any' }),
  has_secret: z.boolean().meta({ description: 'A client secret is set (it is shown only when generated: on create and on rotation)' }),
  secret_rotated_at: timestamp.nullable(),
  previous_secret_expires_at: timestamp.nullable().meta({ description: 'Until when the secret replaced by the last rotation is still accepted' }),
  status: z.enum(['enabled', 'disabled']),
  source: z.enum(['file', 'api', 'dynamic']).meta({ description: 'Where the registration was last changed: a registration file, this API, or dynamic registration' }),
  source_file: z.string().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
}));

export const ClientWithSecretSchema = named('ClientWithSecret', ClientSchema.extend({
  client_secret: z.string().optional().meta({ description: 'Present only when the server has just generated a secret: store it now, it is not shown again' }),
}));

export const ClientListSchema = named('ClientList', z.strictObject({
  clients: z.array(ClientSchema),
  next_cursor: z.string().nullable().meta({ description: 'Pass as cursor for the next page; null on the last page' }),
}));

/** POST /clients: a registration document (as in a registration file), without client_secret. A CAS registration ("protocol": "cas") is accepted as in its file. */
export const ClientCreateSchema = named('ClientCreate', ManagedRegistrationSchema);

/** PATCH /clients/{client_id}: a JSON merge patch (RFC 7396) over the registration document; null removes a field. */
export const ClientPatchSchema = named('ClientPatch', z.strictObject(Object.fromEntries(
  Object.entries(ManagedRegistrationSchema.shape).filter(([k]) => k !== 'client_id').map(([k, s]) => [k, (s as z.ZodType).nullable().optional()]),
) as Record<string, z.ZodOptional<z.ZodNullable<z.ZodType>>>).extend({
  client_id: ManagedRegistrationSchema.shape.client_id.optional().meta({ description: 'If present, must equal the path' }),
}));

export const MAX_GRACE_SECONDS = 7 * 24 * 3600;
export const DEFAULT_GRACE_SECONDS = 24 * 3600;

export const SecretRotationSchema = named('SecretRotation', z.strictObject({
  grace_seconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).default(DEFAULT_GRACE_SECONDS)
    .meta({ description: 'How long the replaced secret is still accepted (0: at once refused). Default one day, at most seven.' }),
}));

export const RotatedSecretSchema = named('RotatedSecret', z.strictObject({
  client_id: z.string(),
  client_secret: z.string().meta({ description: 'The new secret: store it now, it is not shown again' }),
  previous_secret_expires_at: timestamp.nullable(),
}));

export const ClientIdParams = z.strictObject({ client_id: z.string().min(1).max(64) });

export const ListQuerySchema = z.strictObject({
  department: z.string().min(1).max(100).optional().meta({ description: 'Only clients of this department (exact match)' }),
  status: z.enum(['enabled', 'disabled']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional().meta({ description: 'next_cursor from the previous page' }),
});

export const OpenApiDocumentSchema = z.looseObject({ openapi: z.literal('3.1.0'), paths: z.record(z.string(), z.unknown()) });
