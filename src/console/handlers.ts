// What each console page does once routes.ts has let the request through: read (or change, through the
// same library functions the admin API and the CLI use), then render. Reading a person's sessions, logins
// or account is recorded (account.viewed), as the admin API records it.
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type { Core } from '../app.ts';
import type { Login } from '../accounts/login.ts';
import type { Admin } from '../admin/auth.ts';
import type { ClientAdmin } from '../admin/clients.ts';
import { DEFAULT_GRACE_SECONDS } from '../admin/schemas.ts';
import { exportEvents, type ExportFormat } from '../audit/export.ts';
import { verifyChain } from '../audit/verify.ts';
import { ID_NUMBER_MESSAGES, parseIdNumber, maskIdNumber } from '../identity/id-number.ts';
import type { Actor, SessionOversight } from '../sessions/oversight.ts';
import { changeAccount, endsSessions, isAccountAction } from './account-actions.ts';
import { consoleRoles } from './permissions.ts';
import { fill, fromBeijingInput, h, notice, type Frame, type Viewer } from './layout.ts';
import { loginsLastHour, recentAnomalies, searchAudit } from './queries.ts';
import type { ConsoleSession } from './session.ts';
import { dashboardPage } from './pages/dashboard.ts';
import { clientPage, clientsPage, rotatedSecretPage } from './pages/clients.ts';
import { endedPage, sessionPage, sessionsPage, type SessionFilterView } from './pages/sessions.ts';
import { accountPage, accountSearchPage, temporaryPasswordPage } from './pages/accounts.ts';
import { issueTemporaryPassword } from '../accounts/temporary-password.ts';
import { auditPage, verifyPage } from './pages/audit.ts';

/** One request that has passed the console's checks. */
export interface Call {
  ctx: Context;
  session: ConsoleSession;
  viewer: Viewer;
  frame: Frame;
  /** The POST form (empty for a GET). */
  form: URLSearchParams;
  /** The administrator, for session oversight and the audit trail. */
  by: Actor;
  /** The administrator, as the client administration functions take it. */
  admin: Admin;
  render(status: number, html: string): void;
  fail(status: number, detail?: string): void;
}

const GRACE_CHOICES = new Set([0, DEFAULT_GRACE_SECONDS, 7 * 24 * 3600]);
const CLIENT_DONE = new Set(['disable', 'enable']);

/** A query parameter given once, within `max` characters; otherwise absent. */
function param(ctx: Context, name: string, max: number): string | undefined {
  const v = ctx.query[name];
  return typeof v === 'string' && v !== '' && v.length <= max ? v : undefined;
}

const seeOther = (ctx: Context, to: string) => {
  ctx.redirect(to);
  ctx.status = 303;
};

const reasonOf = (form: URLSearchParams) => form.get('reason')?.trim().slice(0, 500) || undefined;

export function createConsolePages(deps: { core: Core; login: Login; oversight: SessionOversight; clients: ClientAdmin }) {
  const { core, login, oversight, clients } = deps;
  const { db, accounts, audit } = core;

  const acting = (c: Call) => ({ admin: c.admin, ip: c.by.ip, userAgent: c.by.userAgent, requestId: c.by.requestId });

  /** A read of someone's personal data, recorded before it is shown (fail closed). */
  const recordView = (c: Call, what: string, account: { id: string } | undefined, extra: Record<string, unknown> = {}) => audit.record({
    type: 'account.viewed', outcome: account ? 'success' : 'failure', actor: c.by.actor, ip: c.by.ip ?? null,
    userAgent: c.by.userAgent ?? null, requestId: c.by.requestId ?? null, details: { account: account?.id ?? null, what, via: 'console', ...extra },
  });

  /** The number typed into a search form: parsed, or the message to show next to the field. */
  function idNumberOf(c: Call): { number: string } | { error: string } {
    const parsed = parseIdNumber(c.form.get('id_number') ?? '');
    if (!parsed.ok) return { error: ID_NUMBER_MESSAGES[c.frame.lang][parsed.code] };
    return { number: parsed.value.number };
  }

  async function sessionsList(c: Call, filter: SessionFilterView, cursor?: string, error?: string) {
    const r = await oversight.list({
      person: filter.kind === 'account' ? { accountId: filter.account.id } : undefined,
      clientId: filter.kind === 'client' ? filter.clientId : undefined, ip: filter.kind === 'ip' ? filter.ip : undefined, limit: 50, cursor,
    });
    let history;
    if (r.account) {
      await recordView(c, 'sessions', r.account);
      history = (await oversight.loginHistory({ accountId: r.account.id }, { limit: 20 })).items;
    }
    const next = r.nextCursor ? new URLSearchParams({
      ...(filter.kind === 'account' ? { account: filter.account.id } : filter.kind === 'client' ? { client: filter.clientId } : filter.kind === 'ip' ? { ip: filter.ip } : {}),
      cursor: r.nextCursor,
    }).toString() : undefined;
    c.render(error ? 400 : 200, sessionsPage(c.frame, { filter: r.account ? { kind: 'account', account: r.account } : filter, items: r.items, next, history, error }));
  }

  return {
    async dashboard(c: Call) {
      const [hour, anomalies, activeSessions] = await Promise.all([
        loginsLastHour(db), recentAnomalies(db),
        oversight.count().catch((err) => { core.log.warn('active session count unavailable', { err }); return null; }),
      ]);
      c.render(200, dashboardPage(c.frame, { minutes: hour.minutes, lockouts: hour.lockouts, activeSessions, anomalies }));
    },

    async clients(c: Call) {
      const cursor = param(c.ctx, 'cursor', 200);
      const r = await clients.list({ limit: 50, cursor });
      c.render(200, clientsPage(c.frame, { clients: r.clients, nextCursor: r.next_cursor, paged: cursor !== undefined }));
    },

    async client(c: Call, clientId: string) {
      const done = param(c.ctx, 'done', 20);
      const { m } = c.frame;
      const message = done && CLIENT_DONE.has(done) ? notice('ok', `<p>${fill(m.clientChanged, { what: h(m.actionNames[done]!) })}</p>`) : undefined;
      c.render(200, clientPage(c.frame, await clients.get(clientId), message));
    },

    async changeClient(c: Call, clientId: string, action: string) {
      if (action === 'rotate-secret') {
        const grace = Number(c.form.get('grace_seconds'));
        const rotated = await clients.rotateSecret(clientId, GRACE_CHOICES.has(grace) ? grace : DEFAULT_GRACE_SECONDS, acting(c));
        return c.render(200, rotatedSecretPage(c.frame, rotated));
      }
      await clients.setEnabled(clientId, action === 'enable', acting(c));
      seeOther(c.ctx, `/admin/clients/${encodeURIComponent(clientId)}?done=${action}`);
    },

    async sessions(c: Call) {
      const account = param(c.ctx, 'account', 64);
      const clientId = param(c.ctx, 'client', 64);
      const ip = param(c.ctx, 'ip', 64);
      const filter: SessionFilterView = account ? { kind: 'account', account: { id: account, idMasked: '', status: '' } }
        : clientId ? { kind: 'client', clientId } : ip ? { kind: 'ip', ip } : { kind: 'all' };
      await sessionsList(c, filter, param(c.ctx, 'cursor', 200));
    },

    /** The number comes in the form body; the browser is sent on by account id, so it never enters a URL. */
    async findSessions(c: Call) {
      const n = idNumberOf(c);
      if ('error' in n) return sessionsList(c, { kind: 'all' }, undefined, n.error);
      const account = await accounts.findByIndex(accounts.indexOf(n.number));
      if (!account) {
        await recordView(c, 'sessions', undefined, { id_masked: maskIdNumber(n.number) });
        return sessionsList(c, { kind: 'all' }, undefined, c.frame.m.accountNotFound);
      }
      seeOther(c.ctx, `/admin/sessions?account=${encodeURIComponent(account.id)}`);
    },

    async session(c: Call, uid: string) {
      c.render(200, sessionPage(c.frame, await oversight.get(uid)));
    },

    async endSession(c: Call, uid: string) {
      const report = await oversight.end(uid, { ...c.by, reason: reasonOf(c.form) });
      c.render(200, endedPage(c.frame, { account: report.account, reports: [report] }));
    },

    async endAllSessions(c: Call) {
      const accountId = c.form.get('account') ?? '';
      if (!accountId || accountId.length > 64) return c.fail(400);
      const r = await oversight.endAll({ accountId }, { ...c.by, reason: reasonOf(c.form) });
      c.render(200, endedPage(c.frame, { account: r.account, reports: r.ended, otherGrants: r.grantsRevoked }));
    },

    async accountSearch(c: Call) {
      c.render(200, accountSearchPage(c.frame, {}));
    },

    async findAccount(c: Call) {
      const n = idNumberOf(c);
      if ('error' in n) return c.render(400, accountSearchPage(c.frame, { error: n.error }));
      const account = await accounts.findByIndex(accounts.indexOf(n.number));
      if (!account) {
        await recordView(c, 'account', undefined, { id_masked: maskIdNumber(n.number) });
        return c.render(404, accountSearchPage(c.frame, { error: c.frame.m.accountNotFound }));
      }
      seeOther(c.ctx, `/admin/accounts/${encodeURIComponent(account.id)}`);
    },

    async account(c: Call, accountId: string) {
      const account = await accounts.findById(accountId);
      if (!account) return c.fail(404, c.frame.m.accountNotFound);
      await recordView(c, 'account', account);
      const failures = account.idIndex ? await login.failures(account.idIndex) : 0;
      const { m } = c.frame;
      const done = param(c.ctx, 'done', 20);
      let message: string | undefined;
      if (done && isAccountAction(done)) {
        const ended = Number(param(c.ctx, 'ended', 6) ?? 0);
        const also = ended > 0 ? ` ${fill(m.alsoEnded, { n: String(ended) })}` : '';
        message = param(c.ctx, 'changed', 1) === '0'
          ? notice('info', `<p>${h(m.accountUnchanged)}${also}</p>`)
          : notice('ok', `<p>${fill(m.accountChanged, { what: h(m.actionNames[done]!) })}${also}</p>`);
      }
      c.render(200, accountPage(c.frame, { account, failures, maxFailures: core.config.login.maxFailures, message }));
    },

    async changeAccount(c: Call, accountId: string, action: string) {
      const account = await accounts.findById(accountId);
      if (!account || !isAccountAction(action)) return c.fail(404, c.frame.m.accountNotFound);
      const by = { ...c.by, reason: reasonOf(c.form) };
      const changed = await changeAccount({ db, accounts, login }, account, action, by);
      let ended = 0;
      if (endsSessions(action) && c.form.get('end_sessions') === 'yes') ended = (await oversight.endAll({ accountId }, by)).ended.length;
      seeOther(c.ctx, `/admin/accounts/${encodeURIComponent(accountId)}?done=${action}&changed=${changed ? 1 : 0}&ended=${ended}`);
    },

    /** A temporary password after checking the person in person; shown once on this response, sessions ended. */
    async issueTemporaryPassword(c: Call, accountId: string) {
      const account = await accounts.findById(accountId);
      if (!account) return c.fail(404, c.frame.m.accountNotFound);
      // 三员分立: a security administrator must not be able to sign in as another administrator (or give
      // themselves another's roles) through a password they chose to issue. Operators use the CLI.
      if (consoleRoles(account.roles).length) return c.fail(403, c.frame.m.temporaryRefusedForAdministrators);
      const by = { ...c.by, reason: reasonOf(c.form) };
      const issued = await issueTemporaryPassword({ db, accounts, passwords: core.passwords }, account, by, core.config.temporaryPasswordHours);
      const ended = (await oversight.endAll({ accountId }, by)).ended.length;
      c.render(200, temporaryPasswordPage(c.frame, { ...issued, ended }));
    },

    async audit(c: Call) {
      const raw = {
        type: param(c.ctx, 'type', 100) ?? '', actor: param(c.ctx, 'actor', 200) ?? '', client: param(c.ctx, 'client', 64) ?? '',
        from: param(c.ctx, 'from', 25) ?? '', to: param(c.ctx, 'to', 25) ?? '',
      };
      const from = fromBeijingInput(raw.from);
      const to = fromBeijingInput(raw.to);
      const errors = { ...(from === null ? { from: c.frame.m.invalidTime } : {}), ...(to === null ? { to: c.frame.m.invalidTime } : {}) };
      const before = Number(param(c.ctx, 'before', 20));
      const r = await searchAudit(db, {
        type: raw.type || undefined, actor: raw.actor || undefined, clientId: raw.client || undefined,
        from: from ?? undefined, to: to ?? undefined, before: Number.isSafeInteger(before) && before > 0 ? before : undefined,
      });
      const kept = Object.fromEntries(Object.entries(raw).filter(([, v]) => v));
      const next = r.next !== undefined ? new URLSearchParams({ ...kept, before: String(r.next) }).toString() : undefined;
      const now = Date.now();
      c.render(Object.keys(errors).length ? 400 : 200, auditPage(c.frame, {
        query: raw, rows: r.rows, next, errors, defaults: { from: new Date(now - 24 * 3600_000), to: new Date(now + 60_000) },
      }));
    },

    /** Streams the export (docs/audit.md); the export is recorded first, and refused if that cannot be. */
    async exportAudit(c: Call) {
      const from = fromBeijingInput(c.form.get('from'));
      const to = fromBeijingInput(c.form.get('to'));
      const format: ExportFormat = c.form.get('format') === 'csv' ? 'csv' : 'jsonl';
      if (from === null || to === null) return c.fail(400, c.frame.m.invalidTime);
      const range = { from: from ?? new Date(0), to: to ?? new Date(Date.now() + 60_000) };
      await audit.record({
        type: 'audit.exported', outcome: 'success', actor: c.by.actor, ip: c.by.ip ?? null, userAgent: c.by.userAgent ?? null,
        requestId: c.by.requestId ?? null, details: { from: range.from.toISOString(), to: range.to.toISOString(), format, via: 'console' },
      });
      const stream = new PassThrough();
      const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').slice(0, 15);
      c.ctx.type = format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8';
      c.ctx.attachment(`yihao-audit-${stamp(range.from)}-${stamp(range.to)}.${format}`);
      c.ctx.body = stream;
      // Backpressure from the browser holds the export's snapshot open; a browser gone away ends it.
      const write = async (chunk: string) => {
        if (stream.destroyed) throw new Error('audit export aborted: the connection closed');
        if (stream.write(chunk)) return;
        const ac = new AbortController();
        await Promise.race([once(stream, 'drain', { signal: ac.signal }), once(stream, 'close', { signal: ac.signal })].map((p) => p.catch(() => {})));
        ac.abort();
      };
      exportEvents(db, range, format, write).then(() => stream.end(), (err) => {
        core.log.error('audit export failed', { err });
        stream.destroy(err as Error);
      });
    },

    async verifyAudit(c: Call) {
      const from = fromBeijingInput(c.form.get('from'));
      const to = fromBeijingInput(c.form.get('to'));
      if (from === null || to === null) return c.fail(400, c.frame.m.invalidTime);
      const range = { from: from ?? undefined, to: to ?? undefined };
      const result = await verifyChain(db, range);
      await audit.record({
        type: 'audit.verified', outcome: result.findings.length ? 'failure' : 'success', actor: c.by.actor, ip: c.by.ip ?? null,
        userAgent: c.by.userAgent ?? null, requestId: c.by.requestId ?? null,
        details: {
          from: range.from?.toISOString() ?? null, to: range.to?.toISOString() ?? null, count: result.count,
          findings: result.findings.map((f) => ({ kind: f.kind, ids: f.ids })), via: 'console',
        },
      });
      c.render(200, verifyPage(c.frame, result, range));
    },
  };
}
