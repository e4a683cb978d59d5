// application/x-www-form-urlencoded bodies for our own pages. Only our routes parse bodies:
// oidc-provider parses its own, and an upstream parser would break it.
import type { Context } from 'koa';

const LIMIT_BYTES = 16 * 1024;

export class BadForm extends Error {
  readonly status: number;
  constructor(message: string, status = 400) { super(message); this.status = status; }
}

export async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new BadForm('expected a form submission', 415);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > LIMIT_BYTES) throw new BadForm('form too large', 413);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
