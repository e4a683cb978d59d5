// `yihao sessions list | end` (docs/sessions.md). Output is masked like the console: identity numbers as
// 1101**********002X, never in clear. Ending needs the provider itself (to sign logout tokens with our keys
// and compute each app's pairwise sub), so `end` starts one in this process without serving anything.
import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { createLogger } from '../log.ts';
import type { EndReport, SessionView, OversightError } from './oversight.ts';

export interface SessionsCliDeps {
  config: Config;
  out: (line: string) => void;
  /** The CLI's own usage error (exit 2 with the usage text). */
  usageError: (message: string) => Error;
}

export const SESSIONS_USAGE = `  sessions list [--id-number N | --client ID | --ip IP] [--limit N] [--cursor C]
                                                 active SSO sessions, newest login first (masked)
  sessions end --session UID | --id-number N     end one session, or every session of a person, everywhere:
                                                 tokens revoked, every app notified by back-channel logout
`;

const time = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

function line(s: SessionView): string {
  const ua = s.userAgent ? (s.userAgent.length > 40 ? `${s.userAgent.slice(0, 39)}…` : s.userAgent) : '-';
  return [s.uid, time(s.loginAt), time(s.lastActiveAt), s.account?.idMasked ?? '-', s.acr ?? '-', s.amr.join(',') || '-',
    s.ip ?? '-', s.apps.map((a) => a.clientId).join(',') || '-', ua].join('  ');
}

function report(r: EndReport, out: (s: string) => void) {
  out(`ended session ${r.uid}${r.account ? ` of ${r.account.idMasked}` : ''}: ${r.grantsRevoked} grant${r.grantsRevoked === 1 ? '' : 's'} revoked`);
  for (const d of r.deliveries) {
    out(`  back-channel logout ${d.clientId}: ${d.outcome}${d.reason ? ` (${d.reason})` : ''}`);
  }
}

export async function sessionsCommand(sub: string | undefined, args: string[], deps: SessionsCliDeps): Promise<number> {
  const { config, out, usageError } = deps;
  const { values } = parseArgs({
    args, strict: true,
    options: {
      'id-number': { type: 'string' }, client: { type: 'string' }, ip: { type: 'string' }, limit: { type: 'string' },
      cursor: { type: 'string' }, session: { type: 'string' },
    },
  });
  const allowed = { list: ['id-number', 'client', 'ip', 'limit', 'cursor'], end: ['session', 'id-number'] }[sub ?? ''];
  if (!allowed) throw usageError(`unknown command: sessions${sub ? ` ${sub}` : ''}`);
  const extra = Object.keys(values).filter((k) => !allowed.includes(k));
  if (extra.length) throw usageError(`sessions ${sub}: unexpected ${extra.map((k) => `--${k}`).join(', ')}`);
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw usageError('--limit: a whole number from 1 to 500');
  const idNumber = values['id-number'];

  const log = createLogger('warn');
  const { createCore, createYihao } = await import('../app.ts');
  const { sessionOversightFor, OversightError: Err } = await import('./oversight.ts');
  // A lookup that finds nothing, or a malformed number, is the operator's to fix: a usage error.
  const asUsage = (err: unknown) => (err instanceof Err && err.status < 500 ? usageError((err as OversightError).message) : err);

  if (sub === 'list') {
    if ([idNumber, values.client, values.ip].filter((v) => v !== undefined).length > 1) throw usageError('sessions list: give at most one of --id-number, --client, --ip');
    const core = await createCore(config, log);
    try {
      // Listing reads the index and the accounts only: no provider, no keys.
      const oversight = sessionOversightFor(core);
      const page = await oversight.list({
        person: idNumber !== undefined ? { idNumber } : undefined, clientId: values.client, ip: values.ip, limit, cursor: values.cursor,
      }).catch((err) => { throw asUsage(err); });
      if (page.account) out(`account ${page.account.id} (${page.account.idMasked}, ${page.account.status})`);
      out(page.items.length ? `${page.items.length} active session${page.items.length === 1 ? '' : 's'}${page.nextCursor ? ' (more: see below)' : ''}` : 'no active sessions');
      if (page.items.length) out(['UID', 'LOGIN (UTC)', 'LAST ACTIVE (UTC)', 'ACCOUNT', 'ACR', 'AMR', 'IP', 'APPS', 'USER AGENT'].join('  '));
      for (const s of page.items) out(line(s));
      if (page.nextCursor) out(`next page: yihao sessions list … --cursor ${page.nextCursor}`);
    } finally {
      await core.close();
    }
    return 0;
  }

  if ((values.session === undefined) === (idNumber === undefined)) throw usageError('sessions end: give --session UID or --id-number N');
  // Migrations and client files are the server's start-up business, not this command's.
  const yihao = await createYihao(config, log, { startupTasks: false });
  try {
    const oversight = sessionOversightFor(yihao.core, yihao.provider);
    const by = { actor: 'cli' };
    let reports: EndReport[];
    if (values.session !== undefined) {
      reports = [await oversight.end(values.session, by).catch((err) => { throw asUsage(err); })];
    } else {
      const r = await oversight.endAll({ idNumber: idNumber! }, by).catch((err) => { throw asUsage(err); });
      out(`account ${r.account.id} (${r.account.idMasked}): ${r.ended.length} active session${r.ended.length === 1 ? '' : 's'} ended`);
      if (r.grantsRevoked) out(`${r.grantsRevoked} further grant${r.grantsRevoked === 1 ? '' : 's'} revoked (offline access outliving its session)`);
      reports = r.ended;
    }
    for (const r of reports) report(r, out);
    // The sessions are ended either way; a failed delivery means an app may still hold its local session.
    return reports.some((r) => r.deliveries.some((d) => d.outcome === 'failed')) ? 1 : 0;
  } finally {
    await yihao.close();
  }
}
