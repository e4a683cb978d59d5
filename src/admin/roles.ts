// Granting and revoking account roles (`yihao accounts grant-role | revoke-role`). Each change is
// audited in the same transaction, with the roles before and after; a no-op changes and records nothing.
import type { Core } from '../app.ts';
import type { Account, Role } from '../accounts/accounts.ts';
import { auditedTransaction } from './audited.ts';

export type RoleChange = { account: Account; changed: boolean; roles: string[] };

export async function changeRole(core: Core, change: 'grant' | 'revoke', idNumber: string, role: Role, actor: string): Promise<RoleChange | undefined> {
  const account = await core.accounts.findByIndex(core.accounts.indexOf(idNumber));
  if (!account) return undefined;
  return auditedTransaction(core.db, async (tx, record) => {
    const after = change === 'grant' ? await core.accounts.grantRole(account.id, role, tx) : await core.accounts.revokeRole(account.id, role, tx);
    if (!after) return { account, changed: false, roles: account.roles };
    record({
      type: change === 'grant' ? 'account.role_granted' : 'account.role_revoked', outcome: 'success', actor,
      details: { account: account.id, role, roles: { before: account.roles, after } },
    });
    return { account, changed: true, roles: after };
  });
}
