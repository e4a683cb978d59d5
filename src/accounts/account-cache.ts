// A few seconds of memory for account rows on the hot path: one connect flow asks for the account
// three times (authorize, token, userinfo). A short TTL bounds how long a disabled account or a
// changed name can linger in one process; ending sessions revokes tokens regardless.
// Concurrent misses for one account share one query: when an entry expires under load, every request
// for that account would otherwise queue its own PostgreSQL round trip on the pool at the same moment.
import type { Account, Accounts } from './accounts.ts';

export function cachedAccountLookup(accounts: Pick<Accounts, 'findById'>, options: { ttlMs: number; maxEntries: number }) {
  const entries = new Map<string, { account: Promise<Account | undefined>; expires: number }>();
  return (id: string): Promise<Account | undefined> => {
    const now = Date.now();
    const hit = entries.get(id);
    if (hit && hit.expires > now) return hit.account;
    const account = accounts.findById(id);
    if (hit) entries.delete(id); // re-inserted below: the Map's order stays oldest first
    else if (entries.size >= options.maxEntries) entries.delete(entries.keys().next().value!);
    const entry = { account, expires: now + options.ttlMs };
    entries.set(id, entry);
    // A failed lookup is not remembered: the next request asks the database again.
    account.catch(() => { if (entries.get(id) === entry) entries.delete(id); });
    return account;
  };
}
