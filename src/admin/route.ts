// One declaration per admin API route: method, path, summary, guard (params, query, body) and responses.
// The router matches and validates with it and the OpenAPI document is generated from it, so the two
// cannot drift apart (test/e2e/admin-api.test.ts checks both ways).
import type { Context } from 'koa';
import type { z } from 'zod';
import type { Admin } from './auth.ts';
import type { Acting } from './clients.ts';
import { ErrorSchema } from './schemas.ts';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface Response { description: string; schema?: z.ZodType }

export interface Input<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The authenticated administrator (routes with auth: true). */
  admin: Admin;
  acting: Acting;
  ctx: Context;
}

export interface Reply { status: number; body?: unknown; headers?: Record<string, string> }

export interface RouteSpec<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  operationId: string;
  method: Method;
  /** OpenAPI path template: /admin/api/clients/{client_id} */
  path: string;
  summary: string;
  description?: string;
  /** Requires a bearer token with scope admin:clients (and, for people, the system_admin role). */
  auth: boolean;
  /** With auth: the role a person must hold instead of system_admin; client-credentials tokens are then refused. */
  role?: 'security_admin';
  /** OpenAPI tag; default clients. */
  tag?: string;
  params?: P;
  query?: Q;
  /**
   * validate: the router parses the body with the schema (field errors → 400 invalid_request);
   * otherwise the handler validates it (registrations: every field error → 400 invalid_client_metadata).
   */
  body?: { schema: B; validate: boolean; required: boolean; contentTypes: string[] };
  responses: Record<number, Response>;
  handle(input: Input<z.output<P>, z.output<Q>, z.output<B>>): Promise<Reply>;
}

export type Route = RouteSpec<z.ZodType, z.ZodType, z.ZodType>;

const error = (description: string): Response => ({ description, schema: ErrorSchema });

/** Adds the responses every route of its kind can give, so that the table lists each one. */
export function route<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType>(spec: RouteSpec<P, Q, B>): Route {
  const common: Record<number, Response> = {};
  if (spec.query || spec.body || spec.params) common[400] = error('Invalid request (every field error listed)');
  if (spec.auth) {
    common[401] = error('No bearer token, or it is unknown, expired or revoked (WWW-Authenticate: Bearer error="invalid_token")');
    common[403] = error(`The token lacks scope admin:clients, or its account no longer holds the ${spec.role ?? 'system_admin'} role (error="insufficient_scope")`);
  }
  if (spec.body) common[413] = error('Body larger than 64 kB');
  if (spec.body) common[415] = error('Body is not JSON');
  if (spec.method !== 'GET') common[503] = error('The audit event could not be written, so nothing was changed; retry later');
  return { ...spec, responses: { ...common, ...spec.responses } } as unknown as Route;
}
