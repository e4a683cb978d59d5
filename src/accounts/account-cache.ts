// A few seconds of memory for account rows on the hot path: one connect flow asks for the account
// three times (authorize, token, userinfo). A short TTL bounds how long a disabled account or a
// changed name can linger in one process; ending sessions revokes tokens regardless.
import type { Account, Accounts } from './accounts.ts';

export function cachedAccountLookup(accounts: Accounts, options: { ttlMs: number; maxEntries: number }) {
  const entries = new Map<string, { account: Account | undefined; expires: number }>();
  return async (id: string): Promise<Account | undefined> => {
    const now = Date.now();
    const hit = entries.get(id);
    if (hit && hit.expires > now) return hit.account;
    const account = await accounts.findById(id);
    if (entries.size >= options.maxEntries) entries.delete(entries.keys().next().value!); // oldest first
    entries.delete(id);
    entries.set(id, { account, expires: now + options.ttlMs });
    return account;
  };
}
