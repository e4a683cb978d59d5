// The registration endpoint's request, as the Client adapter sees it. oidc-provider stores a registered
// client through Client.adapter.upsert(id, metadata) with no request in hand; the policy that checked the
// request leaves here what is to be written (the normalised registration and the token it came under), and
// the audit needs who asked and from where. Mounted before the library's routes (provider.use).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context, Next } from 'koa';
import type { ClientMetadata } from '../clients/registration.ts';
import type { InitialAccessTokenRow } from './tokens.ts';

export interface Checked {
  kind: 'create' | 'update';
  token: InitialAccessTokenRow;
  metadata: ClientMetadata;
}

export interface RegistrationRequest {
  ip: string;
  userAgent?: string;
  requestId?: string;
  /** Set by the registration policy, taken by the Client adapter's upsert. */
  checked?: Checked;
}

const storage = new AsyncLocalStorage<RegistrationRequest>();

export const currentRegistrationRequest = (): RegistrationRequest | undefined => storage.getStore();

export function registrationRequests(path: string) {
  return async function registrationRequest(ctx: Context, next: Next) {
    if (ctx.path !== path && !ctx.path.startsWith(`${path}/`)) return next();
    const request: RegistrationRequest = { ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, requestId: ctx.state.requestId as string | undefined };
    await storage.run(request, next);
    // RFC 7591 §3.2.1: client_secret_expires_at accompanies every issued secret (0: it does not expire).
    // Stored registrations leave it out (it is not a field of ours), so reads and updates add it back.
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.status < 300 && body && typeof body === 'object' && typeof body.client_secret === 'string' && body.client_secret_expires_at === undefined) {
      body.client_secret_expires_at = 0;
    }
  };
}
