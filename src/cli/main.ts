// `yihao <command>` — the same environment as the server (see README "CLI").
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError, type Config } from '../config.ts';
import { createLogger } from '../log.ts';
import { createPostgresDb, createPgliteDb } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { parseIdNumber, ID_NUMBER_MESSAGES } from '../identity/id-number.ts';
import { DuplicateAccountError } from '../accounts/accounts.ts';
import { MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH } from '../accounts/passwords.ts';
import { rotateSigningKeys } from '../oidc/signing-keys.ts';

const USAGE = `usage: yihao <command>
  migrate                                        apply database migrations
  accounts add --id-number N --name NAME [--phone P] --password-stdin
                                                 create a citizen account (password read from standard input)
  clients apply [dir] [--dry-run]                apply client registration files (default: CLIENTS_DIR)
  keys rotate                                    stage new signing keys; run again to promote them
  secrets generate                               print fresh production secrets as environment lines
`;

class UsageError extends Error {}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function openDb(config: Config) {
  return config.databaseUrl ? createPostgresDb(config.databaseUrl, { max: 2 }) : createPgliteDb(`${config.dataDir}/pglite`);
}

async function run(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  const config = loadConfig();
  const out = (s: string) => process.stdout.write(`${s}\n`);

  if (command === 'migrate') {
    const db = await openDb(config);
    try {
      const applied = await migrate(db);
      out(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    } finally {
      await db.close();
    }
    return 0;
  }

  if (command === 'keys' && sub === 'rotate') {
    const { phase, kids } = await rotateSigningKeys(config.keysDir);
    out(phase === 'staged'
      ? `staged ${kids.join(', ')} (published, not yet signing). Restart every process, then run \`yihao keys rotate\` again.`
      : `now signing with ${kids.join(', ')}; previous keys retired (still published for verification). Restart every process.`);
    return 0;
  }

  if (command === 'secrets' && sub === 'generate') {
    const { generateIdentityKeySpec } = await import('../identity/protect.ts');
    const { randomBytes } = await import('node:crypto');
    const identity = generateIdentityKeySpec();
    out(`YIHAO_INDEX_KEY=${identity.indexKey}`);
    out(`YIHAO_ENCRYPTION_KEYS=${identity.encryptionKeys}`);
    out(`YIHAO_COOKIE_KEYS=${randomBytes(32).toString('base64url')}`);
    out(`YIHAO_PAIRWISE_KEY=${randomBytes(32).toString('base64url')}`);
    return 0;
  }

  const { createCore } = await import('../app.ts');

  if (command === 'accounts' && sub === 'add') {
    const { values } = parseArgs({
      args: rest,
      options: { 'id-number': { type: 'string' }, name: { type: 'string' }, phone: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
      strict: true,
    });
    const problems: string[] = [];
    const parsed = parseIdNumber(values['id-number'] ?? '');
    if (!values['id-number']) problems.push('--id-number is required');
    else if (!parsed.ok) problems.push(`--id-number: ${ID_NUMBER_MESSAGES.en[parsed.code]}`);
    if (!values.name?.trim()) problems.push('--name is required');
    if (values.phone && !/^\+?\d{6,15}$/.test(values.phone)) problems.push('--phone: digits only, optionally starting with +');
    if (!values['password-stdin']) problems.push('--password-stdin is required (passwords are never taken as arguments)');
    if (problems.length) throw new UsageError(problems.join('\n'));
    const password = await readStdin();
    if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
      throw new UsageError(`password: must be ${MIN_PASSWORD_LENGTH}–${MAX_PASSWORD_LENGTH} characters`);
    }
    const core = await createCore(config, createLogger('warn'));
    try {
      const account = await core.accounts.create({
        idNumber: (parsed as { ok: true; value: Parameters<typeof core.accounts.create>[0]['idNumber'] }).value,
        name: values.name!.trim(), phone: values.phone, passwordHash: await core.passwords.hash(password),
      });
      await core.audit.record({ type: 'account.created', outcome: 'success', actor: 'cli', details: { account: account.id } });
      out(`created account ${account.id} for ${account.idMasked}`);
    } catch (err) {
      if (err instanceof DuplicateAccountError) throw new UsageError(err.message);
      throw err;
    } finally {
      await core.close();
    }
    return 0;
  }

  if (command === 'clients' && sub === 'apply') {
    const { values, positionals } = parseArgs({ args: rest, options: { 'dry-run': { type: 'boolean' } }, allowPositionals: true, strict: true });
    const dir = positionals[0] ?? config.clientsDir;
    const { applyClients, formatPlan } = await import('../clients/apply.ts');
    const core = await createCore(config, createLogger('warn'));
    try {
      const result = await applyClients(dir, {
        store: core.clients, audit: core.audit, context: { production: config.production, env: process.env }, actor: 'cli',
      }, { dryRun: values['dry-run'] });
      out(formatPlan(result) || 'no client registration files');
      out(values['dry-run'] ? '(dry run: nothing changed)' : 'applied');
      return result.problems.length ? 1 : 0;
    } finally {
      await core.close();
    }
  }

  throw new UsageError(command ? `unknown command: ${[command, sub].filter(Boolean).join(' ')}` : 'no command given');
}

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || err instanceof ConfigError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`yihao: ${(err as Error).message}\n\n${err instanceof ConfigError ? '' : USAGE}`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`yihao: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
