// Who may do what in the console: the three separated administrator roles of GB/T 22239-2019 (三员分立,
// 8.1.4.2 and 8.1.10.2). The system administrator runs the clients and configuration, the security
// administrator the accounts and sessions, and the auditor reads the audit trail — all of it, the other
// administrators' actions included — and changes nothing. Nobody edits or deletes audit: there is no
// permission for it, so no page or form exists and the database refuses it anyway (migrations/002).
import type { Role } from '../accounts/accounts.ts';

export const CONSOLE_ROLES: readonly Role[] = ['system_admin', 'security_admin', 'auditor'];

export const PERMISSIONS = {
  'dashboard.read': ['system_admin', 'security_admin', 'auditor'],
  'clients.read': ['system_admin', 'security_admin', 'auditor'],
  'clients.change': ['system_admin'],
  'sessions.read': ['security_admin'],
  'sessions.end': ['security_admin'],
  'accounts.read': ['security_admin'],
  'accounts.change': ['security_admin'],
  // Reading, exporting and verifying the trail; each export and verification is itself recorded.
  'audit.read': ['system_admin', 'security_admin', 'auditor'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

/** The console roles among an account's roles (unknown role names give nothing). */
export const consoleRoles = (roles: readonly string[]): Role[] => CONSOLE_ROLES.filter((r) => roles.includes(r));

export const can = (roles: readonly string[], permission: Permission): boolean =>
  (PERMISSIONS[permission] as readonly string[]).some((r) => roles.includes(r));
