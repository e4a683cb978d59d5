// One debug line per request (LOG_LEVEL=debug): which process answered what, and how fast. The path only —
// query strings carry codes, states and tokens — and no header or cookie. src/app.ts installs it only when
// debug lines are written (Logger.enabled), so nothing is built per request for a line that would be dropped.
import type { Context, Next } from 'koa';
import type { Logger } from '../log.ts';

export function requestLog(log: Logger) {
  return async function requestLog(ctx: Context, next: Next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      log.debug('request', {
        method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round((performance.now() - started) * 10) / 10,
        requestId: ctx.state.requestId as string | undefined,
      });
    }
  };
}
