// /admin/api: client administration for people holding system_admin and for automation with
// admin:clients (docs/admin-api.md). Mounted on the provider's Koa app like our pages.
import type Provider from 'oidc-provider';
import type { Accounts } from '../accounts/accounts.ts';
import type { ClientStore } from '../clients/store.ts';
import type { Logger } from '../log.ts';
import type { Db } from '../store/db.ts';
import { createAuthenticator } from './auth.ts';
import { createClientAdmin } from './clients.ts';
import { openApiDocument } from './openapi.ts';
import { adminRouter } from './router.ts';
import { BASE, adminRoutes } from './routes.ts';
import type { Route } from './route.ts';
import type { SessionRoutesDeps } from '../sessions/admin-routes.ts';
import type { TokenAdmin } from '../registration/admin-routes.ts';

export interface AdminApiDeps {
  provider: Provider;
  db: Db;
  clients: ClientStore;
  accounts: Accounts;
  log: Logger;
  issuer: string;
  production: boolean;
  env: Record<string, string | undefined>;
  /** The provider's own metadata check, as `clients apply` uses it. */
  validate(metadata: Record<string, unknown> & { client_id: string }): Promise<void>;
  /** Session oversight (src/sessions/admin-routes.ts); without it those routes answer 503. */
  sessions?: SessionRoutesDeps;
  /** Initial access tokens for dynamic registration (src/registration/); without it those routes answer 503. */
  initialAccessTokens?: TokenAdmin;
}

export function createAdminApi(deps: AdminApiDeps): { routes: Route[]; middleware: ReturnType<typeof adminRouter> } {
  const admin = createClientAdmin({
    db: deps.db, store: deps.clients, context: { production: deps.production, env: deps.env }, validate: deps.validate,
  });
  let document: unknown;
  const routes: Route[] = adminRoutes(admin, () => (document ??= openApiDocument(routes, { issuer: deps.issuer })), () => deps.sessions, () => deps.initialAccessTokens);
  const middleware = adminRouter(routes, { base: BASE, authenticate: createAuthenticator(deps.provider, deps.accounts), log: deps.log });
  return { routes, middleware };
}
