// The admin API's routes: the one table the router serves and the OpenAPI document describes.
import { route, type Route } from './route.ts';
import type { ClientAdmin } from './clients.ts';
import { sessionAdminRoutes, type SessionRoutesDeps } from '../sessions/admin-routes.ts';
import { initialAccessTokenRoutes, type TokenAdmin } from '../registration/admin-routes.ts';
import {
  ClientCreateSchema, ClientIdParams, ClientListSchema, ClientPatchSchema, ClientSchema, ClientWithSecretSchema,
  ErrorSchema, ListQuerySchema, OpenApiDocumentSchema, RotatedSecretSchema, SecretRotationSchema,
} from './schemas.ts';

export const BASE = '/admin/api';
const JSON_BODY = ['application/json'];
const notFound = { description: 'No such client (or it was deleted)', schema: ErrorSchema };

export function adminRoutes(
  clients: ClientAdmin, openapi: () => unknown, sessions: () => SessionRoutesDeps | undefined = () => undefined,
  initialAccessTokens: () => TokenAdmin | undefined = () => undefined,
): Route[] {
  return [
    route({
      operationId: 'getOpenApi', method: 'GET', path: `${BASE}/openapi.json`, auth: false,
      summary: 'This API described as OpenAPI 3.1',
      responses: { 200: { description: 'The OpenAPI document', schema: OpenApiDocumentSchema } },
      handle: async () => ({ status: 200, body: openapi() }),
    }),
    route({
      operationId: 'listClients', method: 'GET', path: `${BASE}/clients`, auth: true, query: ListQuerySchema,
      summary: 'List clients, a page at a time, by client_id',
      description: 'Keyset pagination: pass next_cursor back as cursor until it is null. Deleted clients are not listed.',
      responses: { 200: { description: 'One page of clients', schema: ClientListSchema } },
      handle: async ({ query }) => ({ status: 200, body: await clients.list(query) }),
    }),
    route({
      operationId: 'createClient', method: 'POST', path: `${BASE}/clients`, auth: true,
      body: { schema: ClientCreateSchema, validate: false, required: true, contentTypes: JSON_BODY },
      summary: 'Register a client',
      description: 'The body is a registration document, as in a registration file, without client_secret: a confidential client '
        + 'gets a generated secret, returned in this response only. Releasing id_number needs id_number_approval.',
      responses: {
        201: { description: 'Created; client_secret is shown this once', schema: ClientWithSecretSchema },
        409: { description: 'client_id is taken (also by a deleted client: ids are never reused)', schema: ErrorSchema },
      },
      handle: async ({ body, acting }) => {
        const created = await clients.create(body, acting);
        return { status: 201, body: created, headers: { Location: `${BASE}/clients/${created.client_id}` } };
      },
    }),
    route({
      operationId: 'getClient', method: 'GET', path: `${BASE}/clients/{client_id}`, auth: true, params: ClientIdParams,
      summary: 'Read one client, with its id_number approval and secret status (never the secret)',
      responses: { 200: { description: 'The client', schema: ClientSchema }, 404: notFound },
      handle: async ({ params }) => ({ status: 200, body: await clients.get(params.client_id) }),
    }),
    route({
      operationId: 'updateClient', method: 'PATCH', path: `${BASE}/clients/{client_id}`, auth: true, params: ClientIdParams,
      body: { schema: ClientPatchSchema, validate: false, required: true, contentTypes: ['application/merge-patch+json', 'application/json'] },
      summary: 'Change a client (JSON merge patch, RFC 7396)',
      description: 'Fields present replace the stored ones, null removes a field, absent fields stay. The result is validated as a whole '
        + 'and every field error is returned at once; nothing is written unless all is valid. The client is then marked source "api": '
        + '`yihao clients apply` reports its file as a conflict until the file matches or --force is used.',
      responses: { 200: { description: 'The changed client (client_secret only if it has just become confidential)', schema: ClientWithSecretSchema }, 404: notFound },
      handle: async ({ params, body, acting }) => ({ status: 200, body: await clients.update(params.client_id, body, acting) }),
    }),
    route({
      operationId: 'deleteClient', method: 'DELETE', path: `${BASE}/clients/{client_id}`, auth: true, params: ClientIdParams,
      summary: 'Delete a client: its tokens stop working and its client_id is never reused',
      responses: { 204: { description: 'Deleted' }, 404: notFound },
      handle: async ({ params, acting }) => {
        await clients.remove(params.client_id, acting);
        return { status: 204 };
      },
    }),
    route({
      operationId: 'disableClient', method: 'POST', path: `${BASE}/clients/{client_id}/disable`, auth: true, params: ClientIdParams,
      summary: 'Disable a client: it gets no tokens and its tokens are refused until enabled again',
      responses: { 200: { description: 'The client, disabled', schema: ClientSchema }, 404: notFound },
      handle: async ({ params, acting }) => ({ status: 200, body: await clients.setEnabled(params.client_id, false, acting) }),
    }),
    route({
      operationId: 'enableClient', method: 'POST', path: `${BASE}/clients/{client_id}/enable`, auth: true, params: ClientIdParams,
      summary: 'Enable a disabled client',
      responses: { 200: { description: 'The client, enabled', schema: ClientSchema }, 404: notFound },
      handle: async ({ params, acting }) => ({ status: 200, body: await clients.setEnabled(params.client_id, true, acting) }),
    }),
    route({
      operationId: 'rotateClientSecret', method: 'POST', path: `${BASE}/clients/{client_id}/secret`, auth: true, params: ClientIdParams,
      body: { schema: SecretRotationSchema, validate: true, required: false, contentTypes: JSON_BODY },
      summary: 'Rotate the client secret',
      description: 'Generates a new secret, returned in this response only. The replaced secret is still accepted for grace_seconds '
        + '(default one day) so the app can be rolled without an outage; secrets replaced by earlier rotations end now.',
      responses: { 200: { description: 'The new secret', schema: RotatedSecretSchema }, 400: { description: 'The client has no secret (public or private_key_jwt), or the body is invalid', schema: ErrorSchema }, 404: notFound },
      handle: async ({ params, body, acting }) => ({ status: 200, body: await clients.rotateSecret(params.client_id, body.grace_seconds, acting) }),
    }),
    ...sessionAdminRoutes(sessions),
    ...initialAccessTokenRoutes(initialAccessTokens),
  ];
}
