// The admin API's routes for initial access tokens, part of its one route table (src/admin/routes.ts):
// an administrator issues a token per department with its policy, lists them (never their values), revokes.
import { route, type Route } from '../admin/route.ts';
import { ApiError, NotFound } from '../admin/errors.ts';
import { ErrorSchema } from '../admin/schemas.ts';
import type { z } from 'zod';
import { normalizeHostPattern } from './policy.ts';
import type { InitialAccessTokenRow, InitialAccessTokens } from './tokens.ts';
import { IssuedTokenSchema, TokenIdParams, TokenIssueSchema, TokenListQuery, TokenListSchema, TokenSchema } from './schemas.ts';

const PATH = '/admin/api/initial-access-tokens';
const notFound = { description: 'No such initial access token', schema: ErrorSchema };

export interface TokenAdmin { tokens: InitialAccessTokens; registrationEndpoint: string }

export function toTokenView(row: InitialAccessTokenRow): z.infer<typeof TokenSchema> {
  return {
    id: row.id, department: row.department, allowed_scopes: row.allowed_scopes, redirect_host_allowlist: row.redirect_hosts,
    max_registrations: row.max_registrations, registrations: row.registrations, client_ids: row.client_ids, description: row.description,
    status: row.status, created_by: row.created_by, created_at: row.created_at, expires_at: row.expires_at,
    revoked_at: row.revoked_at, revoked_by: row.revoked_by,
  };
}

/** admin: undefined where dynamic registration is not wired (the routes are still declared, for the OpenAPI document). */
export function initialAccessTokenRoutes(admin: () => TokenAdmin | undefined): Route[] {
  const need = () => {
    const a = admin();
    if (!a) throw new ApiError(503, 'temporarily_unavailable', 'dynamic registration is not enabled on this server');
    return a;
  };
  return [
    route({
      operationId: 'listInitialAccessTokens', method: 'GET', path: PATH, auth: true, query: TokenListQuery,
      summary: 'List initial access tokens, newest first (never their values)',
      responses: { 200: { description: 'The tokens', schema: TokenListSchema } },
      handle: async ({ query }) => ({ status: 200, body: { initial_access_tokens: (await need().tokens.list(query)).map(toTokenView) } }),
    }),
    route({
      operationId: 'issueInitialAccessToken', method: 'POST', path: PATH, auth: true,
      body: { schema: TokenIssueSchema, validate: true, required: true, contentTypes: ['application/json'] },
      summary: 'Issue an initial access token for a department (RFC 7591 §3)',
      description: 'The department registers its own apps at the registration endpoint with this token as a bearer token. Every '
        + 'registration is held to the token\'s policy: scopes within allowed_scopes, every URI on a host of the allow-list, https in '
        + 'production, the department forced to the token\'s, never first-party (users always see a consent page), pairwise subjects. '
        + 'The value is returned in this response only.',
      responses: { 201: { description: 'Issued; token is shown this once', schema: IssuedTokenSchema } },
      handle: async ({ body, acting }) => {
        const { tokens, registrationEndpoint } = need();
        const hosts = [...new Set(body.redirect_host_allowlist.map((h) => normalizeHostPattern(h)!))];
        const { row, token } = await tokens.issue({ ...body, redirect_host_allowlist: hosts }, acting);
        return { status: 201, body: { ...toTokenView(row), token, registration_endpoint: registrationEndpoint }, headers: { Location: `${PATH}/${row.id}` } };
      },
    }),
    route({
      operationId: 'getInitialAccessToken', method: 'GET', path: `${PATH}/{token_id}`, auth: true, params: TokenIdParams,
      summary: 'Read one initial access token (never its value), with the clients registered with it',
      responses: { 200: { description: 'The token', schema: TokenSchema }, 404: notFound },
      handle: async ({ params }) => {
        const row = await need().tokens.byId(params.token_id);
        if (!row) throw new NotFound('no such initial access token');
        return { status: 200, body: toTokenView(row) };
      },
    }),
    route({
      operationId: 'revokeInitialAccessToken', method: 'DELETE', path: `${PATH}/{token_id}`, auth: true, params: TokenIdParams,
      summary: 'Revoke an initial access token: it registers no more clients',
      description: 'Clients already registered with it stay registered, still bound by its policy; disable or delete them as clients.',
      responses: { 204: { description: 'Revoked (or already revoked)' }, 404: notFound },
      handle: async ({ params, acting }) => {
        await need().tokens.revoke(params.token_id, acting);
        return { status: 204 };
      },
    }),
  ];
}
