// Our login and consent pages, mounted on the provider's own Koa app.
// Each route reads as its list of steps: load the interaction → check the form → act.
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import type { AdapterFactory, InteractionResults } from 'oidc-provider';
import type { Account, Accounts } from '../accounts/accounts.ts';
import type { Login } from '../accounts/login.ts';
import type { Passwords } from '../accounts/passwords.ts';
import { checkNewPassword, type ConfirmProblem, type PasswordProblem } from '../accounts/password-rules.ts';
import { canonicalTemporaryPassword } from '../accounts/temporary-password.ts';
import { auditedTransaction } from '../admin/audited.ts';
import type { Db } from '../store/db.ts';
import { AuditWriteError, type Audit } from '../audit/audit.ts';
import type { Logger } from '../log.ts';
import { parseIdNumber, ID_NUMBER_MESSAGES } from '../identity/id-number.ts';
import { readForm, BadForm } from '../http/form.ts';
import { noStore, pageCsp } from '../http/security-headers.ts';
import { t, type Lang, type Messages } from './i18n.ts';
import { requestLanguage } from './language.ts';
import { createChangeProofs, hashDigest } from './password-change.ts';
import type { Counters } from '../store/counters.ts';
import { loginPage, consentPage, messagePage, passwordChangePage, STYLESHEET, STYLESHEET_PATH } from './views.ts';
import { ACR_PASSWORD } from '../oidc/provider.ts';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export interface InteractionDeps {
  provider: Provider; login: Login; audit: Audit; log: Logger; csrfKey: string;
  /** For the new password after a temporary one: the account, its hash, and the proof kept with the interaction. */
  db: Db; accounts: Accounts; passwords: Passwords; adapter: AdapterFactory; counters: Counters;
}

const ROUTE = /^\/interaction\/([\w-]{1,64})(?:\/(login|password|confirm|abort))?$/;

function newPasswordMessage(m: Messages, p: PasswordProblem | ConfirmProblem): string {
  return {
    required: m.newPasswordRequired, too_short: m.newPasswordTooShort, too_long: m.newPasswordTooLong,
    too_few_different: m.newPasswordTooFewDifferent, sequence: m.newPasswordSequence, common: m.newPasswordCommon,
    contains_id_number: m.newPasswordContainsIdNumber, contains_birthdate: m.newPasswordContainsBirthdate,
    contains_phone: m.newPasswordContainsPhone, same_as_temporary: m.newPasswordSameAsTemporary,
    confirm_required: m.confirmPasswordRequired, mismatch: m.confirmPasswordMismatch,
  }[p];
}

export function interactionRoutes(deps: InteractionDeps) {
  const { provider, login, audit, log, accounts, passwords } = deps;
  const proofs = createChangeProofs(deps.adapter, deps.counters);

  const csrfKey = createSecretKey(Buffer.from(deps.csrfKey, 'utf8')); // once: a string key is made into one on every HMAC
  const csrfFor = (uid: string) => createHmac('sha256', csrfKey).update(`csrf:${uid}`).digest('base64url');
  const csrfValid = (uid: string, token: string | null) => {
    const expected = Buffer.from(csrfFor(uid));
    const given = Buffer.from(token ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  const langOf = (ctx: Context): Lang => requestLanguage(ctx);
  const langSwitch = (ctx: Context, lang: Lang) => `${ctx.path.replace(/\/(login|password|confirm|abort)$/, '')}?lang=${lang === 'en' ? 'zh-CN' : 'en'}`;

  async function clientInfo(details: Details) {
    const client = await provider.Client.find(String(details.params.client_id));
    const origins = [...new Set((client?.redirectUris ?? []).map((u) => new URL(u).origin))];
    const extras = client as unknown as { department?: string; first_party?: boolean } | undefined;
    return { name: client?.clientName ?? String(details.params.client_id), department: extras?.department, firstParty: extras?.first_party === true, origins };
  }

  function render(ctx: Context, status: number, html: string, formOrigins: string[] = []) {
    noStore(ctx);
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Content-Security-Policy', pageCsp(formOrigins));
    ctx.body = html;
  }

  /**
   * The interaction's result, saved for the authorization endpoint to resume with, and the browser sent
   * there: what provider.interactionResult does, on the interaction this request already loaded instead
   * of reading it from Redis a second time.
   */
  async function finish(ctx: Context, details: Details, result: InteractionResults, mergeWithLastSubmission: boolean) {
    details.result = mergeWithLastSubmission && !('error' in result) ? { ...details.lastSubmission, ...result } : result;
    await details.save(details.exp - Math.floor(Date.now() / 1000));
    noStore(ctx);
    ctx.redirect(details.returnTo);
  }

  async function showLogin(ctx: Context, details: Details, status = 200, form?: { idNumber?: string; errors: Record<string, string> }) {
    const lang = langOf(ctx);
    const client = await clientInfo(details);
    render(ctx, status, loginPage({
      lang, action: `/interaction/${details.uid}/login`, csrfToken: csrfFor(details.uid), clientName: client.name,
      idNumber: form?.idNumber, errors: form?.errors, langSwitchHref: langSwitch(ctx, lang),
    }), client.origins);
  }

  async function showPasswordChange(ctx: Context, details: Details, status = 200, errors?: { new_password?: string; confirm_password?: string; form?: string }) {
    const lang = langOf(ctx);
    const client = await clientInfo(details);
    render(ctx, status, passwordChangePage({
      lang, action: `/interaction/${details.uid}/password`, csrfToken: csrfFor(details.uid), clientName: client.name, errors,
      langSwitchHref: langSwitch(ctx, lang),
    }), client.origins);
  }

  async function showConsent(ctx: Context, details: Details) {
    const lang = langOf(ctx);
    const client = await clientInfo(details);
    // First-party department apps never show consent, even when the app asks (prompt=consent,
    // which OIDC Core §11 requires for offline_access).
    if (client.firstParty) return submitConsent(ctx, details);
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    const claims = [...(missing.missingOIDCScope ?? []).filter((s) => s !== 'openid'), ...(missing.missingOIDCClaims ?? [])];
    render(ctx, 200, consentPage({
      lang, action: `/interaction/${details.uid}/confirm`, cancelAction: `/interaction/${details.uid}/abort`,
      csrfToken: csrfFor(details.uid), clientName: client.name, department: client.department, claims, langSwitchHref: langSwitch(ctx, lang),
    }), client.origins);
  }

  async function submitLogin(ctx: Context, details: Details, form: URLSearchParams) {
    const lang = langOf(ctx);
    const m = t(lang);
    const rawNumber = form.get('id_number') ?? '';
    const password = form.get('password') ?? '';
    const errors: Record<string, string> = {};
    const parsed = parseIdNumber(rawNumber);
    if (!parsed.ok) errors.id_number = parsed.code === 'empty' ? m.idNumberRequired : ID_NUMBER_MESSAGES[lang][parsed.code];
    if (!password) errors.password = m.passwordRequired;
    if (!parsed.ok || !password) return showLogin(ctx, details, 400, { idNumber: rawNumber.slice(0, 32), errors });

    const ip = ctx.ip;
    const result = await login.authenticate(parsed.value.number, password, ip);
    const common = { clientId: String(details.params.client_id), ip, userAgent: ctx.get('user-agent'), requestId: ctx.state.requestId as string };
    if (!result.ok && result.reason === 'password_change_required') {
      // Not signed in yet: the proof stays with this interaction until the new password is chosen.
      await proofs.start(details.uid, details.exp, result.account.id, result.account.passwordHash!);
      await audit.record({ type: 'login.temporary_password_used', outcome: 'success', actor: result.account.id, ...common });
      return showPasswordChange(ctx, details);
    }
    if (!result.ok) {
      await audit.record({ type: 'login.failure', outcome: 'failure', actor: result.accountId ?? null, ...common, details: { reason: result.reason } });
      if (result.lockedNow) await audit.record({ type: 'account.locked', outcome: 'success', actor: result.accountId ?? null, ...common, details: { reason: 'too_many_failures' } });
      // An administrator's lock or required password reset reads as a lock: the page sends the person to the service desk.
      const message = result.reason === 'locked' || result.reason === 'disabled' || result.reason === 'password_reset_required' ? m.accountLocked
        : result.reason === 'temporary_password_expired' ? m.temporaryPasswordExpired
          : result.reason === 'ip_throttled' ? m.tooManyAttempts : m.wrongCredentials;
      const status = result.reason === 'invalid_credentials' ? 401 : result.reason === 'temporary_password_expired' ? 403 : 429;
      return showLogin(ctx, details, status, { idNumber: parsed.value.number, errors: { form: message } });
    }
    await finishLogin(ctx, details, result.account.id);
  }

  async function finishLogin(ctx: Context, details: Details, accountId: string) {
    await audit.record({
      type: 'login.success', outcome: 'success', actor: accountId, clientId: String(details.params.client_id), ip: ctx.ip,
      userAgent: ctx.get('user-agent'), requestId: ctx.state.requestId as string, details: { acr: ACR_PASSWORD, amr: ['pwd'] },
    });
    await finish(ctx, details, { login: { accountId, acr: ACR_PASSWORD, amr: ['pwd'], remember: false } }, false);
  }

  /** The proven account, if the proof still holds: same temporary password, still valid, account active. */
  function stillTemporary(account: Account | undefined, digest: string): account is Account & { passwordHash: string } {
    return !!account && account.status === 'active' && account.passwordResetRequired === true && !!account.passwordHash
      && hashDigest(account.passwordHash) === digest
      && !!account.temporaryPasswordExpiresAt && Date.parse(account.temporaryPasswordExpiresAt) > Date.now();
  }

  // The new password after a temporary one. It acts only on the account proven in this interaction (never on a
  // number from the form), so it can neither skip the login throttle nor reach anyone else's account.
  async function submitPasswordChange(ctx: Context, details: Details, form: URLSearchParams) {
    const m = t(langOf(ctx));
    const proof = await proofs.find(details.uid);
    const account = proof && await accounts.findById(proof.accountId);
    if (!proof || !stillTemporary(account, proof.hashDigest) || !(await proofs.spend(details.uid, proof))) {
      if (proof) await proofs.end(details.uid);
      const expired = !!account?.temporaryPasswordExpiresAt && Date.parse(account.temporaryPasswordExpiresAt) <= Date.now();
      return showLogin(ctx, details, 403, { errors: { form: expired ? m.temporaryPasswordExpired : m.changeRestart } });
    }
    const password = form.get('new_password') ?? '';
    const problems: { password?: PasswordProblem; confirm?: ConfirmProblem } = checkNewPassword({
      password, confirm: form.get('confirm_password') ?? '', idNumber: accounts.revealIdNumber(account), phone: account.phone,
    });
    if (!problems.password && (await passwords.verify(account.passwordHash, canonicalTemporaryPassword(password)))) problems.password = 'same_as_temporary';
    if (problems.password || problems.confirm) {
      return showPasswordChange(ctx, details, 400, {
        ...(problems.password ? { new_password: newPasswordMessage(m, problems.password) } : {}),
        ...(problems.confirm ? { confirm_password: newPasswordMessage(m, problems.confirm) } : {}),
      });
    }
    const hash = await passwords.hash(password);
    // Fail closed: the new password and its audit event are one transaction.
    const changed = await auditedTransaction(deps.db, async (tx, record) => {
      if (!(await accounts.completePasswordReset(account.id, hash, account.passwordHash, tx))) return false;
      record({
        type: 'password.changed', outcome: 'success', actor: account.id, clientId: String(details.params.client_id), ip: ctx.ip,
        userAgent: ctx.get('user-agent') || null, requestId: (ctx.state.requestId as string | undefined) ?? null, details: { account: account.id, reason: 'reset' },
      });
      return true;
    });
    await proofs.end(details.uid);
    if (!changed) return showLogin(ctx, details, 409, { errors: { form: m.changeRestart } });
    await finishLogin(ctx, details, account.id);
  }

  async function submitConsent(ctx: Context, details: Details) {
    const { prompt, params, session } = details;
    if (prompt.name !== 'consent' || !session) throw new BadForm('nothing to confirm');
    const grant = details.grantId
      ? (await provider.Grant.find(details.grantId))!
      : new provider.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
    const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await audit.record({ type: 'consent.given', outcome: 'success', actor: session.accountId, clientId: String(params.client_id), ip: ctx.ip, requestId: ctx.state.requestId as string, details: { scopes: missing.missingOIDCScope ?? [], claims: missing.missingOIDCClaims ?? [] } });
    await finish(ctx, details, { consent: { grantId } }, true);
  }

  async function abort(ctx: Context, details: Details) {
    await audit.record({ type: 'consent.denied', outcome: 'failure', actor: details.session?.accountId ?? null, clientId: String(details.params.client_id), ip: ctx.ip, requestId: ctx.state.requestId as string });
    await finish(ctx, details, { error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
  }

  function showMessage(ctx: Context, status: number, kind: 'expired' | 'error' | 'notFound') {
    const lang = langOf(ctx);
    const m = t(lang);
    const title = { expired: m.expiredTitle, error: m.errorTitle, notFound: m.notFoundTitle }[kind];
    const message = { expired: m.expiredMessage, error: m.errorMessage, notFound: m.notFoundMessage }[kind];
    render(ctx, status, messagePage({ lang, title, message, status }));
  }

  return async function routes(ctx: Context, next: Next) {
    if (ctx.path === STYLESHEET_PATH && ctx.method === 'GET') {
      ctx.type = 'text/css';
      ctx.set('Cache-Control', 'public, max-age=86400');
      ctx.body = STYLESHEET;
      return;
    }
    const match = ROUTE.exec(ctx.path);
    if (!match) return next();
    const [, uid, action] = match;
    // The page to show depends on a new-password proof (kept under the interaction's uid): asked for
    // beside the interaction itself, so both reads share Redis's round trip.
    const showing = !action && ctx.method === 'GET';
    const pendingProof = showing ? proofs.find(uid!) : undefined;
    pendingProof?.catch(() => {}); // awaited below, or moot when the interaction is gone
    let details: Details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== uid) throw new Error('interaction mismatch');
    } catch {
      return showMessage(ctx, 400, 'expired');
    }
    try {
      if (showing) {
        if (details.prompt.name !== 'login') return await showConsent(ctx, details);
        // Reloading the page after the temporary password keeps the person on the new-password form.
        return (await pendingProof) ? await showPasswordChange(ctx, details) : await showLogin(ctx, details);
      }
      if (!action || ctx.method !== 'POST') return showMessage(ctx, 405, 'notFound');
      const form = await readForm(ctx);
      if (!csrfValid(uid!, form.get('csrf'))) {
        const lang = langOf(ctx);
        if (action === 'password' && details.prompt.name === 'login') return showPasswordChange(ctx, details, 403, { form: t(lang).formExpired });
        return details.prompt.name === 'login'
          ? showLogin(ctx, details, 403, { errors: { form: t(lang).formExpired } })
          : showMessage(ctx, 403, 'expired');
      }
      if (action === 'login' && details.prompt.name === 'login') return await submitLogin(ctx, details, form);
      if (action === 'password' && details.prompt.name === 'login') return await submitPasswordChange(ctx, details, form);
      if (action === 'confirm') return await submitConsent(ctx, details);
      if (action === 'abort') return await abort(ctx, details);
      return showMessage(ctx, 400, 'expired');
    } catch (err) {
      if (err instanceof BadForm) return showMessage(ctx, err.status, 'error');
      log.error('interaction failed', { err, path: ctx.path });
      // Audit is fail-closed: when it cannot be written the action is refused as temporarily unavailable.
      return showMessage(ctx, err instanceof AuditWriteError ? 503 : 500, 'error');
    }
  };
}
