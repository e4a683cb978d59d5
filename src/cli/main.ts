// `yihao <command>` — the same environment as the server (see README "CLI").
import { parseArgs } from 'node:util';
import { sizeHashThreadPool } from '../accounts/hash-threads.ts';
import { loadConfig, ConfigError, type Config } from '../config.ts';
import { createLogger } from '../log.ts';
import { createPostgresDb, createPgliteDb } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { parseIdNumber, ID_NUMBER_MESSAGES } from '../identity/id-number.ts';
import { DuplicateAccountError, ROLES, type Role } from '../accounts/accounts.ts';
import { MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH } from '../accounts/passwords.ts';
import { rotateSigningKeys } from '../oidc/signing-keys.ts';
import { SESSIONS_USAGE } from '../sessions/cli.ts';

const USAGE = `usage: yihao <command>
  start [--workers N]                            run the server: N processes (default WORKERS, else one per core;
                                                 one with embedded storage)
  migrate                                        apply database migrations
  accounts add --id-number N --name NAME [--phone P] --password-stdin
                                                 create a citizen account (password read from standard input)
  accounts grant-role --id-number N --role R     give an account a role: system_admin, security_admin or auditor
  accounts revoke-role --id-number N --role R    take a role away again
  accounts reset-password --id-number N [--reason TEXT]
                                                 after checking the person in person: replace the password with a
                                                 temporary one (printed once, alone, on standard output; valid
                                                 TEMPORARY_PASSWORD_HOURS), end their sessions; they choose a new
                                                 password at their next sign-in
  accounts import FILE [--format jsonl|csv] [--batch 5000] [--resume] [--progress 100000]
                                                 import accounts from a legacy system (docs/import.md); refused
                                                 rows go to FILE.rejected.jsonl; --resume continues after a crash
  clients apply [dir] [--dry-run] [--force]      apply client registration files (default: CLIENTS_DIR);
                                                 --force: files win over changes made through the admin API
  keys rotate                                    stage new signing keys; run again to promote them
  secrets generate                               print fresh production secrets as environment lines
${SESSIONS_USAGE}  audit verify [--from T] [--to T]               check the audit hash chain; exit 1 naming every altered row
  audit export --from T --to T [--format jsonl|csv]
                                                 write audit events to standard output (default jsonl)
  audit prune [--retention-days D]               drop monthly audit partitions older than D days (default 180)
  T is an ISO 8601 date or date-time; without an offset it is local time (TZ). --from is inclusive, --to exclusive.
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

/**
 * An ISO 8601 date or date-time, passed to PostgreSQL as text so that microseconds survive (a time copied
 * from `audit verify` output is exact). Without an offset it is local time (TZ), as an operator reads a calendar.
 */
function parseTime(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?(Z|[+-]\d{2}:\d{2})?$/.exec(value);
  const local = m && new Date(`${m[1]}T${m[2] ?? '00:00'}`);
  if (!m || !local || Number.isNaN(local.getTime())) {
    throw new UsageError(`${flag}: expected an ISO 8601 date or date-time, e.g. 2025-06-01 or 2025-06-01T08:00+08:00`);
  }
  if (m[3]) return value;
  const offset = -local.getTimezoneOffset();
  const hhmm = (n: number) => String(Math.floor(n)).padStart(2, '0');
  return `${m[1]}T${m[2] ?? '00:00'}${offset < 0 ? '-' : '+'}${hhmm(Math.abs(offset) / 60)}:${hhmm(Math.abs(offset) % 60)}`;
}

async function audit(sub: string | undefined, rest: string[], config: Config, out: (s: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: rest, strict: true,
    options: { from: { type: 'string' }, to: { type: 'string' }, format: { type: 'string' }, 'retention-days': { type: 'string' } },
  });
  const allowed = { verify: ['from', 'to'], export: ['from', 'to', 'format'], prune: ['retention-days'] }[sub ?? ''];
  if (!allowed) throw new UsageError(`unknown command: audit${sub ? ` ${sub}` : ''}`);
  const extra = Object.keys(values).filter((k) => !allowed.includes(k));
  if (extra.length) throw new UsageError(`audit ${sub}: unexpected ${extra.map((k) => `--${k}`).join(', ')}`);
  const from = parseTime(values.from, '--from');
  const to = parseTime(values.to, '--to');
  if (from && to && Date.parse(from) > Date.parse(to)) throw new UsageError('--from must be before --to');

  if (sub === 'export') {
    if (!from || !to) throw new UsageError('audit export: --from and --to are required');
    const format = values.format ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'csv') throw new UsageError('--format: jsonl or csv');
    const db = await openDb(config);
    try {
      const write = (s: string) => (process.stdout.write(s) ? undefined : new Promise<void>((r) => process.stdout.once('drain', () => r())));
      const { exportEvents } = await import('../audit/export.ts');
      const count = await exportEvents(db, { from, to }, format, write);
      process.stderr.write(`exported ${count} audit events\n`);
    } finally {
      await db.close();
    }
    return 0;
  }

  if (sub === 'prune') {
    const days = Number(values['retention-days'] ?? 180);
    if (!Number.isInteger(days) || days < 1) throw new UsageError('--retention-days: a whole number of days, at least 1');
    if (days < 180) process.stderr.write(`yihao: warning: ${days} days is less than the six months the Cybersecurity Law (art. 21) requires\n`);
    const db = await openDb(config);
    try {
      const { pruneAudit } = await import('../audit/prune.ts');
      const r = await pruneAudit(db, { retentionDays: days, actor: 'cli' });
      out(r.partitions.length
        ? `dropped ${r.partitions.join(', ')}${r.lastPrunedId === null ? ' (empty)' : ` (events #${r.firstPrunedId}–#${r.lastPrunedId})`}; kept everything from ${r.cutoff.slice(0, 7)} on`
        : `nothing to prune: no monthly partition lies entirely before ${r.cutoff}`);
    } finally {
      await db.close();
    }
    return 0;
  }

  const db = await openDb(config);
  try {
    const { verifyChain } = await import('../audit/verify.ts');
    const r = await verifyChain(db, { from, to });
    const span = r.first && r.last ? `${r.count} events from ${r.first.at} to ${r.last.at} (#${r.first.id}–#${r.last.id})` : '0 events';
    if (r.findings.length) {
      out(`audit chain BROKEN: ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'} in ${span}`);
      for (const f of r.findings.slice(0, 500)) out(`  ${f.kind}: ${f.message}`);
      if (r.findings.length > 500) out(`  … and ${r.findings.length - 500} more`);
      return 1;
    }
    out(`audit chain intact: ${span}`);
    if (r.pruned) out(r.pruned);
    out(`chain head: #${r.head.id} ${r.head.hash}`);
    return 0;
  } finally {
    await db.close();
  }
}

async function run(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  const config = loadConfig();
  const out = (s: string) => process.stdout.write(`${s}\n`);

  if (command === 'start') {
    const { values } = parseArgs({ args: argv.slice(1), options: { workers: { type: 'string' } }, strict: true });
    const workers = values.workers === undefined ? undefined : Number(values.workers);
    if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= 256)) throw new UsageError('--workers: a whole number from 1 to 256');
    sizeHashThreadPool(); // as src/main.ts; the workers inherit it
    const log = createLogger(config.logLevel);
    try {
      const { serve } = await import('../cluster.ts');
      await serve(config, log, { workers });
    } catch (err) {
      log.error('yihao failed to start', { err });
      process.exit(1);
    }
    return 0;
  }

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

  // Audit commands need the database only: an auditor's read-only role can run verify and export.
  if (command === 'audit') return audit(sub, rest, config, out);

  if (command === 'sessions') {
    const { sessionsCommand } = await import('../sessions/cli.ts');
    return sessionsCommand(sub, rest, { config, out, usageError: (m) => new UsageError(m) });
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

  if (command === 'accounts' && (sub === 'grant-role' || sub === 'revoke-role')) {
    const { values } = parseArgs({ args: rest, options: { 'id-number': { type: 'string' }, role: { type: 'string' } }, strict: true });
    const problems: string[] = [];
    const parsed = parseIdNumber(values['id-number'] ?? '');
    if (!values['id-number']) problems.push('--id-number is required');
    else if (!parsed.ok) problems.push(`--id-number: ${ID_NUMBER_MESSAGES.en[parsed.code]}`);
    if (!ROLES.includes(values.role as Role)) problems.push(`--role: one of ${ROLES.join(', ')}`);
    if (problems.length || !parsed.ok) throw new UsageError(problems.join('\n'));
    const core = await createCore(config, createLogger('warn'));
    try {
      const { changeRole } = await import('../admin/roles.ts');
      const r = await changeRole(core, sub === 'grant-role' ? 'grant' : 'revoke', parsed.value.number, values.role as Role, 'cli');
      if (!r) throw new UsageError('no account with this identity number');
      const who = `account ${r.account.id} (${r.account.idMasked})`;
      if (!r.changed) out(sub === 'grant-role' ? `${who} already holds ${values.role}` : `${who} does not hold ${values.role}`);
      else out(`${sub === 'grant-role' ? 'granted' : 'revoked'} ${values.role} ${sub === 'grant-role' ? 'to' : 'from'} ${who}; roles: ${r.roles.join(', ') || '(none)'}`);
    } finally {
      await core.close();
    }
    return 0;
  }

  if (command === 'accounts' && sub === 'reset-password') {
    const { values } = parseArgs({ args: rest, options: { 'id-number': { type: 'string' }, reason: { type: 'string' } }, strict: true });
    const parsed = parseIdNumber(values['id-number'] ?? '');
    if (!values['id-number']) throw new UsageError('--id-number is required');
    if (!parsed.ok) throw new UsageError(`--id-number: ${ID_NUMBER_MESSAGES.en[parsed.code]}`);
    // Ending the sessions needs the provider (back-channel logout), as `sessions end` does.
    const { createYihao } = await import('../app.ts');
    const yihao = await createYihao(config, createLogger('warn'), { startupTasks: false });
    try {
      const { core } = yihao;
      const account = await core.accounts.findByIndex(core.accounts.indexOf(parsed.value.number));
      if (!account) throw new UsageError('no account with this identity number');
      const { issueTemporaryPassword, groupTemporaryPassword } = await import('../accounts/temporary-password.ts');
      const { sessionOversightFor } = await import('../sessions/oversight.ts');
      const by = { actor: 'cli', ...(values.reason?.trim() ? { reason: values.reason.trim().slice(0, 500) } : {}) };
      const issued = await issueTemporaryPassword(core, account, by, config.temporaryPasswordHours);
      const ended = (await sessionOversightFor(core, yihao.provider).endAll({ accountId: account.id }, by)).ended.length;
      // The password alone on standard output (for a printer or a pipe); everything else, never secret, on standard error.
      out(groupTemporaryPassword(issued.password));
      process.stderr.write(`temporary password issued for account ${account.id} (${account.idMasked}), valid until ${issued.expiresAt.toISOString()}; `
        + `${ended} session${ended === 1 ? '' : 's'} ended${account.status === 'active' ? '' : `; note: the account is ${account.status}, unlock it before the person signs in`}\n`);
    } finally {
      await yihao.close();
    }
    return 0;
  }

  if (command === 'accounts' && sub === 'import') {
    const { values, positionals } = parseArgs({
      args: rest, allowPositionals: true, strict: true,
      options: { format: { type: 'string' }, batch: { type: 'string' }, resume: { type: 'boolean' }, progress: { type: 'string' } },
    });
    const count = (flag: string, value: string | undefined, def: number, max: number) => {
      const n = Number(value ?? def);
      if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${flag}: a whole number from 1 to ${max}`);
      return n;
    };
    if (positionals.length !== 1) throw new UsageError('accounts import: exactly one FILE');
    if (values.format !== undefined && values.format !== 'jsonl' && values.format !== 'csv') throw new UsageError('--format: jsonl or csv');
    const options = {
      file: positionals[0]!, format: values.format as 'jsonl' | 'csv' | undefined, resume: values.resume ?? false,
      batchSize: count('batch', values.batch, 5000, 100_000), progressEvery: count('progress', values.progress, 100_000, 1e12),
    };
    const { importAccounts, ImportInputError } = await import('../accounts/import.ts');
    const core = await createCore(config, createLogger('warn'));
    let shown = 0;
    try {
      const r = await importAccounts(core.db, core.identityKeys, options, {
        progress: (p) => process.stderr.write(`line ${p.lines}: ${p.inserted} imported, ${p.present} already present, ${p.rejected} refused; ${Math.round(p.rowsPerSecond)} rows/s\n`),
        refused: (f) => {
          if (++shown <= 100) process.stderr.write(`line ${f.line}: refused: ${f.field}: ${f.reason}${f.id_masked ? ` (${f.id_masked})` : ''}\n`);
          if (shown === 101) process.stderr.write(`further refusals are only in ${options.file}.rejected.jsonl\n`);
        },
      });
      if (r.alreadyFinished) {
        out(`nothing to do: this file was imported completely (${r.inserted} imported, ${r.present} already present, ${r.rejected} refused)`);
        return r.rejected ? 1 : 0;
      }
      await core.audit.record({ type: 'accounts.imported', outcome: 'success', actor: 'cli', details: {
        file: options.file, lines: r.lines, inserted: r.inserted, present: r.present, rejected: r.rejected, resumedAfter: r.resumedAfter } });
      out(`${r.resumedAfter ? `resumed after line ${r.resumedAfter}; ` : ''}${r.lines} lines: ${r.inserted} imported, ${r.present} already present, ${r.rejected} refused`
        + `${r.rejectedFile ? ` (see ${r.rejectedFile})` : ''}; ${r.seconds.toFixed(1)} s, ${Math.round(r.rowsPerSecond)} rows/s`);
      return r.rejected ? 1 : 0;
    } catch (err) {
      if (err instanceof ImportInputError) throw new UsageError(err.message);
      throw err;
    } finally {
      await core.close();
    }
  }

  if (command === 'clients' && sub === 'apply') {
    const { values, positionals } = parseArgs({ args: rest, options: { 'dry-run': { type: 'boolean' }, force: { type: 'boolean' } }, allowPositionals: true, strict: true });
    const dir = positionals[0] ?? config.clientsDir;
    const { applyClients, formatPlan } = await import('../clients/apply.ts');
    const core = await createCore(config, createLogger('warn'));
    try {
      const result = await applyClients(dir, {
        store: core.clients, audit: core.audit, context: { production: config.production, env: process.env }, actor: 'cli',
      }, { dryRun: values['dry-run'], force: values.force });
      out(formatPlan(result) || 'no client registration files');
      out(values['dry-run'] ? '(dry run: nothing changed)' : 'applied');
      return result.problems.length || result.plan.some((s) => s.action === 'conflict') ? 1 : 0;
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
