// A demo citizen for development, so a fresh `npm start` can be tried at once.
import type { Core } from '../app.ts';
import { parseIdNumber } from '../identity/id-number.ts';

// The GB 11643-1999 standard's own example number: valid, and nobody's.
export const DEMO_ID_NUMBER = '11010519491231002X';

export async function ensureDemoAccount(core: Core, password: string): Promise<{ idNumber: string; password: string }> {
  const parsed = parseIdNumber(DEMO_ID_NUMBER);
  if (!parsed.ok) throw new Error('demo number invalid');
  const existing = await core.accounts.findByIndex(core.accounts.indexOf(parsed.value.number));
  const hash = await core.passwords.hash(password);
  if (existing) await core.accounts.updatePasswordHash(existing.id, hash);
  else await core.accounts.create({ idNumber: parsed.value, name: '演示用户', phone: '+8613800000000', passwordHash: hash });
  return { idNumber: DEMO_ID_NUMBER, password };
}
