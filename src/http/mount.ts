// yihao's own routes in front of oidc-provider, chosen by path in one step. Stacked one after another,
// every protocol request (/auth, /token, /me, introspection…) went through each router's own "is it
// mine?" check and one more await per layer — and oidc-provider builds its errors eagerly, with a stack
// trace as deep as that chain. A request for none of our paths now goes straight to the provider.
import type { Next } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';

// Mounted on the provider's own Koa app: a middleware written for koa's Context fits too.
type Handler = (ctx: KoaContextWithOIDC, next: Next) => unknown;

export interface Mount {
  /** Every path the middleware answers (it may still pass some on with next()); first match wins. */
  matches(path: string): boolean;
  middleware: Handler;
}

/** A path predicate: these exact paths and everything below them. */
export function under(...bases: string[]): (path: string) => boolean {
  const prefixes = bases.map((b) => `${b}/`);
  return (path) => bases.includes(path) || prefixes.some((p) => path.startsWith(p));
}

export function byPath(mounts: Mount[]) {
  return function ownRoutes(ctx: KoaContextWithOIDC, next: Next) {
    const { path } = ctx;
    for (const m of mounts) if (m.matches(path)) return m.middleware(ctx, next);
    return next();
  };
}
