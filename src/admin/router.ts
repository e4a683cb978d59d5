// Serves the route table (routes.ts) under /admin/api on the provider's Koa app: match → authenticate →
// read and check params, query and body → handler → JSON. One error handler turns ApiErrors into their
// responses; nothing else escapes as anything but a logged server_error.
import type { Context, Next } from 'koa';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { AuditWriteError } from '../audit/audit.ts';
import type { FieldError } from '../clients/registration.ts';
import type { Authenticate } from './auth.ts';
import { ApiError, InvalidRequest } from './errors.ts';
import type { Route } from './route.ts';

const LIMIT_BYTES = 64 * 1024;

interface Compiled { route: Route; pattern: RegExp; names: string[] }

function compile(route: Route): Compiled {
  const names: string[] = [];
  const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), names };
}

const fieldErrors = (error: z.ZodError, prefix?: string): FieldError[] =>
  error.issues.map((i) => ({
    field: [prefix, ...i.path].filter((p) => p !== undefined).join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(', ') : '(body)'),
    message: i.code === 'unrecognized_keys' ? `unknown field${i.keys.length > 1 ? 's' : ''}: ${i.keys.join(', ')}` : i.message,
  }));

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, what: string, prefix?: string): z.output<T> {
  if (!schema) return value as z.output<T>;
  const r = schema.safeParse(value);
  if (!r.success) throw new InvalidRequest(`invalid ${what}`, fieldErrors(r.error, prefix));
  return r.data;
}

async function readJson(ctx: Context, route: Route): Promise<unknown> {
  const spec = route.body!;
  const length = Number(ctx.get('content-length') || 0);
  const chunked = ctx.get('transfer-encoding') !== '';
  if (!length && !chunked) {
    if (spec.required) throw new InvalidRequest('a JSON body is required');
    return {};
  }
  if (!spec.contentTypes.some((t) => ctx.is(t))) {
    throw new ApiError(415, 'unsupported_media_type', `the body must be ${spec.contentTypes.join(' or ')}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > LIMIT_BYTES) throw new ApiError(413, 'invalid_request', 'the body is larger than 64 kB');
    chunks.push(chunk);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new InvalidRequest(`the body is not valid JSON: ${(err as Error).message}`);
  }
  // PostgreSQL text and jsonb cannot hold U+0000: refuse it here rather than fail in the database.
  const nul = pathsWithNul(json);
  if (nul.length) throw new InvalidRequest('the body contains a NUL character', nul.map((field) => ({ field, message: 'must not contain U+0000' })));
  return json;
}

function pathsWithNul(value: unknown, path: string[] = []): string[] {
  if (typeof value === 'string') return value.includes('\u0000') ? [path.join('.') || '(body)'] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => pathsWithNul(v, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [...(k.includes('\u0000') ? [[...path, '(key)'].join('.')] : []), ...pathsWithNul(v, [...path, k])]);
  }
  return [];
}

function send(ctx: Context, status: number, body: unknown, headers: Record<string, string> = {}) {
  // Responses can carry a secret, shown once: never stored by a cache (RFC 6749 §5.1 does the same for tokens).
  ctx.set('Cache-Control', 'no-store');
  for (const [k, v] of Object.entries(headers)) ctx.set(k, v);
  ctx.status = status;
  if (body !== undefined) {
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(body);
  }
}

export function adminRouter(routes: Route[], deps: { base: string; authenticate: Authenticate; log: Logger }) {
  const compiled = routes.map(compile);

  async function serve(ctx: Context) {
    const matches = compiled.map((c) => ({ c, m: c.pattern.exec(ctx.path) })).filter((x) => x.m);
    if (!matches.length) throw new ApiError(404, 'not_found', `no such endpoint: ${ctx.path}`);
    const hit = matches.find((x) => x.c.route.method === ctx.method || (ctx.method === 'HEAD' && x.c.route.method === 'GET'));
    if (!hit) {
      const allowed = matches.map((x) => x.c.route.method).join(', ');
      throw new ApiError(405, 'method_not_allowed', `${ctx.method} is not allowed here; allowed: ${allowed}`, { headers: { Allow: allowed } });
    }
    const { route, names } = hit.c;
    const admin = route.auth ? await deps.authenticate(ctx, route.role) : undefined;
    let rawParams: Record<string, string>;
    try {
      rawParams = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(hit.m![i + 1]!)]));
    } catch {
      throw new InvalidRequest('the path is not correctly percent-encoded');
    }
    const params = parse(route.params, rawParams, 'path');
    const query = parse(route.query, Object.fromEntries(new URLSearchParams(ctx.querystring)), 'query');
    const raw = route.body ? await readJson(ctx, route) : undefined;
    const body = route.body?.validate ? parse(route.body.schema, raw, 'body') : raw;
    const acting = { admin: admin!, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, requestId: ctx.state.requestId as string | undefined };
    const reply = await route.handle({ params, query, body, admin: admin!, acting, ctx });
    send(ctx, reply.status, reply.body, reply.headers);
  }

  return async function adminApi(ctx: Context, next: Next) {
    if (ctx.path !== deps.base && !ctx.path.startsWith(`${deps.base}/`)) return next();
    try {
      await serve(ctx);
    } catch (err) {
      if (err instanceof ApiError) {
        return send(ctx, err.status, { error: err.error, error_description: err.message, ...(err.errors ? { errors: err.errors } : {}) }, err.headers);
      }
      if (err instanceof AuditWriteError) {
        deps.log.error('admin change refused: audit unavailable', { err, path: ctx.path });
        return send(ctx, 503, { error: 'temporarily_unavailable', error_description: 'the audit trail could not be written, so nothing was changed; retry later' }, { 'Retry-After': '5' });
      }
      deps.log.error('admin API failed', { err, path: ctx.path, method: ctx.method });
      return send(ctx, 500, { error: 'server_error', error_description: 'unexpected error' });
    }
  };
}
