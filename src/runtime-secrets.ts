// Cookie and pairwise keys: from the environment, or (development only) generated once into
// DATA_DIR/dev-secrets.json so that restarts keep sessions and pairwise subjects stable.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { Config } from './config.ts';

export interface RuntimeSecrets { cookieKeys: string[]; pairwiseKey: string; demoPassword: string }

export async function loadRuntimeSecrets(config: Config): Promise<RuntimeSecrets> {
  const { cookieKeys, pairwiseKey } = config.secrets;
  if (config.production) return { cookieKeys: cookieKeys!, pairwiseKey: pairwiseKey!, demoPassword: '' };
  const file = `${config.dataDir}/dev-secrets.json`;
  let stored: Partial<RuntimeSecrets> = {};
  try {
    stored = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    stored = {
      cookieKeys: [randomBytes(32).toString('base64url')],
      pairwiseKey: randomBytes(32).toString('base64url'),
      demoPassword: `demo-${randomBytes(6).toString('base64url')}`,
    };
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  }
  return {
    cookieKeys: cookieKeys ?? stored.cookieKeys!,
    pairwiseKey: pairwiseKey ?? stored.pairwiseKey!,
    demoPassword: stored.demoPassword!,
  };
}
