// A security administrator's changes to an account: lock, unlock, require a new password or withdraw that
// requirement. Each change and its audit event are one transaction (fail closed: no record, no change); a
// no-op changes and records nothing. The lock that failed logins put on a number lives in the login
// counters (Redis or the database), so unlock clears it after the commit.
import type { Account, Accounts } from '../accounts/accounts.ts';
import type { Login } from '../accounts/login.ts';
import { auditedTransaction } from '../admin/audited.ts';
import type { Db } from '../store/db.ts';
import type { Actor } from '../sessions/oversight.ts';

export const ACCOUNT_ACTIONS = ['lock', 'unlock', 'force-reset', 'cancel-reset'] as const;
export type AccountAction = typeof ACCOUNT_ACTIONS[number];

export const isAccountAction = (v: string): v is AccountAction => (ACCOUNT_ACTIONS as readonly string[]).includes(v);

/** Whether ending the person's sessions belongs with this action (the form offers it). */
export const endsSessions = (a: AccountAction) => a === 'lock' || a === 'force-reset';

export async function changeAccount(deps: { db: Db; accounts: Accounts; login: Login }, account: Account, action: AccountAction, by: Actor): Promise<boolean> {
  const failures = action === 'unlock' && account.idIndex ? await deps.login.failures(account.idIndex) : 0;
  const common = {
    outcome: 'success' as const, actor: by.actor, ip: by.ip ?? null, userAgent: by.userAgent ?? null, requestId: by.requestId ?? null,
  };
  const details = { account: account.id, by: 'administrator', ...(by.reason ? { reason: by.reason } : {}) };
  const changed = await auditedTransaction(deps.db, async (tx, record) => {
    switch (action) {
      case 'lock': {
        if (!(await deps.accounts.lock(account.id, tx))) return false;
        record({ ...common, type: 'account.locked', details: { ...details, status: { before: account.status, after: 'locked' } } });
        return true;
      }
      case 'unlock': {
        const unlocked = await deps.accounts.unlock(account.id, tx);
        if (!unlocked && !failures) return false;
        record({
          ...common, type: 'account.unlocked',
          details: { ...details, ...(unlocked ? { status: { before: account.status, after: 'active' } } : {}), failed_logins_cleared: failures },
        });
        return true;
      }
      case 'force-reset':
      case 'cancel-reset': {
        const required = action === 'force-reset';
        if (!(await deps.accounts.setPasswordResetRequired(account.id, required, tx))) return false;
        record({ ...common, type: required ? 'account.password_reset_required' : 'account.password_reset_withdrawn', details });
        return true;
      }
    }
  });
  if (changed && action === 'unlock' && failures && account.idIndex) await deps.login.clearFailures(account.idIndex);
  return changed;
}
