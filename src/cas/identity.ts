// Who the CAS service is told signed in: the service's pairwise subject, never the internal account id
// nor the ID number, and only the attributes its registration releases.
import type { Account, Accounts } from '../accounts/accounts.ts';
import { pairwiseSubject } from '../oidc/provider.ts';
import { scopeOfAttribute, type CasRegistration } from './registration.ts';

/**
 * <cas:user>: computed exactly as the provider computes `sub` for an OIDC client of this department whose
 * redirect URIs are on the services' host, so an app that moves from CAS to OIDC on the same host keeps
 * its users' identifiers.
 */
export function casUser(pairwiseKey: string, registration: CasRegistration, accountId: string): string {
  const sectorIdentifier = new URL(registration.cas_services[0]!).host;
  return pairwiseSubject(pairwiseKey, { department: registration.department, sectorIdentifier }, accountId);
}

/** The released attributes this ticket's grant covers, in registration order; absent values are left out. */
export function casAttributes(account: Account, registration: CasRegistration, grantedScope: string, accounts: Accounts): Record<string, string> {
  const granted = new Set(grantedScope.split(' '));
  const out: Record<string, string> = {};
  for (const name of registration.released_attributes) {
    if (!granted.has(scopeOfAttribute(name) ?? '')) continue;
    const value = valueOf(account, name, accounts);
    if (value) out[name] = value;
  }
  return out;
}

function valueOf(account: Account, name: string, accounts: Accounts): string | null {
  switch (name) {
    case 'name': return account.name;
    case 'birthdate': return account.birthdate;
    case 'gender': return account.gender;
    case 'phone_number': return account.phone;
    // Decrypted only here, for a service approved for it (see registration.ts).
    case 'id_number': return accounts.revealIdNumber(account);
    default: return null;
  }
}
