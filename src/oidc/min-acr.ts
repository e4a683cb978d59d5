// A client's `min_acr`: the least level of assurance its users must have signed in with (policy.ts).
// An authorization request from a session below it asks for a new sign-in; when no sign-in method here
// reaches that level, the request fails at once with `unmet_authentication_requirements` (OpenID Connect
// Core Unmet Authentication Requirements 1.0) instead of asking for a password that cannot be enough.
import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { meetsAcr, type ClientPolicy } from '../clients/policy.ts';

const { Check } = interactionPolicy;

function minAcrCheck(reachable: readonly string[]) {
  return new Check('client_min_acr', 'the client requires a higher level of assurance', 'login_required', (ctx: KoaContextWithOIDC) => {
    const required = (ctx.oidc.client as unknown as ClientPolicy | undefined)?.min_acr;
    if (!required) return Check.NO_NEED_TO_PROMPT;
    if (!reachable.some((acr) => meetsAcr(acr, required))) {
      throw new errors.CustomOIDCProviderError('unmet_authentication_requirements',
        `this application requires acr ${required}, which no sign-in method offered here reaches`);
    }
    return ctx.oidc.session?.accountId && meetsAcr(ctx.oidc.acr, required) ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
  });
}

/** The default policy with the client's minimum level checked first, before any password is asked for. */
export function interactionPolicyWithMinAcr(reachable: readonly string[]) {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(minAcrCheck(reachable), 0);
  return policy;
}
