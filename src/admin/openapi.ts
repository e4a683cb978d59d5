// The OpenAPI 3.1 document, generated from the route table the router serves (route.ts). OpenAPI 3.1
// schemas are JSON Schema 2020-12, which z.toJSONSchema emits: request bodies as their input type
// (defaults optional), responses as their output type.
import { z } from 'zod';
import { ADMIN_SCOPE } from '../clients/policy.ts';
import type { Route } from './route.ts';
import { components } from './schemas.ts';

const REF = (id: string) => `#/components/schemas/${id}`;
type Json = Record<string, unknown>;

function strip(schema: Json): Json {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

function schemaFor(schema: z.ZodType, io: 'input' | 'output'): Json {
  const id = components.get(schema)?.id;
  return id ? { $ref: REF(id) } : strip(z.toJSONSchema(schema, { io, metadata: components, unrepresentable: 'any' }) as Json);
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input' }) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name, in: where, required: where === 'path' || (json.required ?? []).includes(name),
      ...(description ? { description } : {}), schema: rest,
    };
  });
}

function operation(r: Route) {
  return {
    operationId: r.operationId,
    summary: r.summary,
    ...(r.description ? { description: r.description } : {}),
    tags: [r.tag ?? 'clients'],
    security: r.auth ? [{ yihao: [ADMIN_SCOPE] }] : [],
    parameters: [...parameters(r.params, 'path'), ...parameters(r.query, 'query')],
    ...(r.body ? {
      requestBody: {
        required: r.body.required,
        content: Object.fromEntries(r.body.contentTypes.map((t) => [t, { schema: schemaFor(r.body!.schema, 'input') }])),
      },
    } : {}),
    responses: Object.fromEntries(Object.entries(r.responses).map(([status, res]) => [status, {
      description: res.description,
      ...(res.schema ? { content: { 'application/json': { schema: schemaFor(res.schema, 'output') } } } : {}),
    }])),
  };
}

export function openApiDocument(routes: Route[], o: { issuer: string }) {
  const bodies = new Set(routes.map((r) => r.body && components.get(r.body.schema)?.id).filter(Boolean));
  const inputs = z.toJSONSchema(components, { io: 'input', uri: REF, unrepresentable: 'any' }).schemas;
  const outputs = z.toJSONSchema(components, { io: 'output', uri: REF, unrepresentable: 'any' }).schemas;
  const schemas = Object.fromEntries(Object.keys(outputs).sort().map((id) => [id, strip((bodies.has(id) ? inputs : outputs)[id] as Json)]));

  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) (paths[r.path] ??= {})[r.method.toLowerCase()] = operation(r);

  const scopes = { [ADMIN_SCOPE]: 'Register, change, disable and delete client applications' };
  return {
    openapi: '3.1.0',
    info: {
      title: 'yihao (一号) admin API',
      version: '1',
      description: 'Client application administration. Authenticate with a bearer access token issued by yihao: the client-credentials '
        + `grant for automation (a client registered with scope ${ADMIN_SCOPE}), or an authorization-code login by an account holding the `
        + 'system_admin role at an admin client requesting that scope. See docs/admin-api.md.',
    },
    servers: [{ url: o.issuer }],
    tags: [
      { name: 'clients', description: 'Department applications registered with yihao' },
      { name: 'sessions', description: 'Active SSO sessions: find and end them (security_admin role; docs/sessions.md)' },
    ],
    paths,
    components: {
      schemas,
      securitySchemes: {
        yihao: {
          type: 'oauth2',
          description: 'Bearer access tokens issued by yihao itself (opaque; sent as Authorization: Bearer <token>)',
          flows: {
            clientCredentials: { tokenUrl: `${o.issuer}/token`, scopes },
            authorizationCode: { authorizationUrl: `${o.issuer}/auth`, tokenUrl: `${o.issuer}/token`, scopes },
          },
        },
      },
    },
  };
}
