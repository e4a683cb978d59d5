import { describe, it, expect, afterAll } from 'vitest';
import Koa from 'koa';
import { createServer, type Server } from 'node:http';
import { securityHeaders } from '../../src/http/security-headers.ts';
import { byPath, under } from '../../src/http/mount.ts';

const servers: Server[] = [];
afterAll(() => { for (const s of servers) s.close(); });

async function serve(app: Koa): Promise<string> {
  const server = createServer(app.callback());
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe('securityHeaders', () => {
  const app = new Koa();
  app.use(securityHeaders({ production: true }));
  app.use(async (ctx) => {
    if (ctx.path === '/json') ctx.body = { ok: true };
    else if (ctx.path === '/own-csp') { ctx.type = 'html'; ctx.set('Content-Security-Policy', "default-src 'none'; script-src 'nonce-x'"); ctx.body = '<p>x</p>'; }
    else { ctx.type = 'html'; ctx.body = '<p>page</p>'; }
  });
  const base = serve(app);

  it('gives JSON only the headers that mean something without a document', async () => {
    const res = await fetch(`${await base}/json`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('strict-transport-security')).toMatch(/^max-age=\d+; includeSubDomains$/);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    for (const h of ['x-frame-options', 'cross-origin-opener-policy', 'permissions-policy', 'content-security-policy']) expect(res.headers.get(h)).toBeNull();
  });

  it('gives HTML pages the strict CSP and the document headers', async () => {
    const res = await fetch(`${await base}/page`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('permissions-policy')).toContain('camera=()');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('keeps a policy the page set itself', async () => {
    const res = await fetch(`${await base}/own-csp`);
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; script-src 'nonce-x'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('gives each request its own id', async () => {
    const [a, b] = await Promise.all([fetch(`${await base}/json`), fetch(`${await base}/json`)]);
    expect(a.headers.get('x-request-id')).not.toBe(b.headers.get('x-request-id'));
  });
});

describe('byPath', () => {
  it('matches a base path and what is below it, not a longer name', () => {
    const cas = under('/cas');
    expect([cas('/cas'), cas('/cas/login'), cas('/cases'), cas('/auth')]).toEqual([true, true, false, false]);
  });

  it('sends a path to the first mount that matches, and everything else on', async () => {
    const seen: string[] = [];
    const app = new Koa();
    app.use(byPath([
      { matches: under('/admin/api'), middleware: async (ctx) => { seen.push(`api ${ctx.path}`); ctx.body = 'api'; } },
      { matches: under('/admin'), middleware: async (ctx, next) => { seen.push(`console ${ctx.path}`); if (ctx.path === '/admin') ctx.body = 'console'; else await next(); } },
    ]) as unknown as Koa.Middleware);
    app.use(async (ctx) => { seen.push(`provider ${ctx.path}`); ctx.body = 'provider'; });
    const base = await serve(app);
    const bodies = [];
    for (const p of ['/admin/api/clients', '/admin', '/admin/other', '/token']) bodies.push(await (await fetch(`${base}${p}`)).text());
    expect(bodies).toEqual(['api', 'console', 'provider', 'provider']);
    expect(seen).toEqual(['api /admin/api/clients', 'console /admin', 'console /admin/other', 'provider /admin/other', 'provider /token']);
  });
});
