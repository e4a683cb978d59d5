// Page strings in Simplified Chinese (the default) and English.
//
// Strings are plain text. `{client}`, `{department}` and `{status}` are
// placeholders the views fill in after escaping; nothing here is HTML.

export type Lang = 'zh-CN' | 'en';

export const LANGS: readonly Lang[] = ['zh-CN', 'en'];

// A header longer than this is not a browser's; read only its start rather
// than spend time on it.
const MAX_ACCEPT_LANGUAGE = 512;

function langOfTag(tag: string): Lang | undefined {
  const primary = tag.trim().toLowerCase().split('-')[0];
  if (primary === 'zh') return 'zh-CN';
  if (primary === 'en') return 'en';
  return undefined;
}

// RFC 9110 §12.5.4: `Accept-Language: tag;q=0.8, …`; q absent means 1, q=0
// means "not acceptable". Traditional-Chinese tags (zh-TW, zh-HK, zh-Hant)
// still map to zh-CN: a Chinese reader is better served by Simplified
// Chinese than by English.
function fromAcceptLanguage(header: string): Lang | undefined {
  let best: { lang: Lang; q: number } | undefined;
  for (const part of header.slice(0, MAX_ACCEPT_LANGUAGE).split(',')) {
    const [tag = '', ...params] = part.split(';');
    const lang = langOfTag(tag);
    if (!lang) continue;
    let q = 1;
    for (const param of params) {
      const [key, value] = param.split('=').map((s) => s.trim());
      if (key?.toLowerCase() !== 'q') continue;
      q = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(value ?? '') ? Number(value) : 0;
    }
    // Ties keep the earlier entry: the browser listed it first.
    if (q > 0 && (!best || q > best.q)) best = { lang, q };
  }
  return best?.lang;
}

/** `?lang=` wins when it names a language we have; then Accept-Language; then Chinese. */
export function pickLanguage(acceptLanguage: string | undefined, override?: string | null): Lang {
  const chosen = override ? langOfTag(override.slice(0, 35)) : undefined;
  return chosen ?? fromAcceptLanguage(acceptLanguage ?? '') ?? 'zh-CN';
}

/** The other language: what the language switch link offers. */
export function otherLanguage(lang: Lang): Lang {
  return lang === 'zh-CN' ? 'en' : 'zh-CN';
}

const zhCN = {
  siteName: '一号 · 统一身份认证',
  skipToContent: '跳到主要内容',
  // Names the other language, in that language: the link's only text.
  switchLanguage: 'English',
  privacy: '我们不会向未经您同意的应用提供您的身份证号码。',
  errorTitlePrefix: '错误：',
  errorSummaryTitle: '请检查以下问题',

  loginTitle: '登录',
  loginHeading: '登录一号通办',
  loginContinueTo: '登录后将继续前往{client}',
  idNumberLabel: '身份证号码',
  idNumberHint: '18 位，最后一位可能是字母 X',
  passwordLabel: '密码',
  signIn: '登录',

  idNumberRequired: '请输入身份证号码',
  idNumberInvalid: '请输入 18 位身份证号码，最后一位可以是数字或字母 X',
  idNumberChecksum: '身份证号码有误，请逐位核对',
  passwordRequired: '请输入密码',
  wrongCredentials: '身份证号码或密码不正确，请重新输入',
  accountLocked: '该账户已被暂时锁定，请稍后再试或联系客服',
  tooManyAttempts: '尝试次数过多，请稍后再试',
  formExpired: '页面已过期，请重新提交',
  temporaryPasswordExpired: '临时密码已过期，不能再使用。请带上身份证件到服务窗口重新办理',

  changeTitle: '设置新密码',
  changeHeading: '请设置新密码',
  changeLead: '您用服务窗口发给您的临时密码登录。请设置一个只有您自己知道的新密码，设置好后将继续前往{client}。',
  changeRulesTitle: '新密码要求',
  changeRuleLength: '至少 8 个字符。可以用字母、数字、符号或汉字，一句好记的短句更安全',
  changeRuleIdentity: '不能包含您的身份证号码（包括后六位）、出生日期或手机号码',
  changeRuleSimple: '至少有 4 个不同的字符；不能是 12345678、abcdefgh 这样的连续字符或常见密码',
  changeRuleTemporary: '不能和临时密码相同',
  newPasswordLabel: '新密码',
  confirmPasswordLabel: '再次输入新密码',
  confirmPasswordHint: '和上面输入的完全一样',
  saveNewPassword: '保存新密码并继续',
  changeRestart: '请用临时密码重新登录，再设置新密码',

  newPasswordRequired: '请输入新密码',
  newPasswordTooShort: '新密码至少要有 8 个字符',
  newPasswordTooLong: '新密码不能超过 256 个字符',
  newPasswordTooFewDifferent: '新密码至少要有 4 个不同的字符',
  newPasswordSequence: '新密码不能是 12345678、abcdefgh 这样的连续字符',
  newPasswordCommon: '这个密码太常见，很容易被猜到，请换一个',
  newPasswordContainsIdNumber: '新密码不能包含您的身份证号码或其后六位',
  newPasswordContainsBirthdate: '新密码不能包含您的出生日期',
  newPasswordContainsPhone: '新密码不能包含您的手机号码',
  newPasswordSameAsTemporary: '新密码不能和临时密码相同',
  confirmPasswordRequired: '请再次输入新密码',
  confirmPasswordMismatch: '两次输入的新密码不一样，请重新输入',

  consentTitle: '授权确认',
  consentHeading: '{client}请求获取您的信息',
  consentDepartment: '提供方：{department}',
  consentIntro: '同意后，该应用将获得：',
  sensitiveBadge: '敏感信息',
  sensitiveWarning: '该应用请求您的完整身份证号码。身份证号码属于敏感个人信息，请确认您信任该应用后再同意。',
  consentNote: '只有在您同意后，该应用才能获得以上信息。',
  allow: '同意',
  cancel: '不同意',
  claimOther: '其他信息：{claim}',

  logoutTitle: '退出登录',
  logoutHeading: '是否退出登录？',
  logoutFromClient: '您正在从{client}退出。',
  logoutExplain: '退出后，您在所有使用一号登录的应用中都将退出。',
  logoutYes: '退出登录',
  logoutNo: '保持登录',

  signedOutTitle: '您已退出登录',
  signedOutMessage: '您已安全退出一号账户。为保护您的信息，在公共设备上使用后请关闭浏览器。',
  errorTitle: '出现问题',
  errorMessage: '抱歉，出现了问题。请返回应用重新开始。',
  notFoundTitle: '找不到该页面',
  notFoundMessage: '请检查网址是否正确，或返回应用重新开始。',
  expiredTitle: '页面已过期',
  expiredMessage: '为了您的安全，登录页面会在一段时间后失效。请返回应用重新登录。',
  accessDeniedTitle: '未获授权',
  accessDeniedMessage: '您已拒绝该应用获取您的信息。',
  statusLabel: '错误代码：{status}',
} as const;

export type Messages = Record<keyof typeof zhCN, string>;

const en: Messages = {
  siteName: 'Yihao · Unified Identity',
  skipToContent: 'Skip to main content',
  switchLanguage: '中文',
  privacy: 'We never give your ID number to an app without your permission.',
  errorTitlePrefix: 'Error: ',
  errorSummaryTitle: 'There is a problem',

  loginTitle: 'Sign in',
  loginHeading: 'Sign in to Yihao',
  loginContinueTo: 'to continue to {client}',
  idNumberLabel: 'National ID number',
  idNumberHint: '18 characters; the last one may be the letter X',
  passwordLabel: 'Password',
  signIn: 'Sign in',

  idNumberRequired: 'Enter your ID number',
  idNumberInvalid: 'Enter your 18-character ID number; the last character can be a digit or the letter X',
  idNumberChecksum: 'This ID number is not valid. Check each digit',
  passwordRequired: 'Enter your password',
  wrongCredentials: 'The ID number or password is not correct. Try again',
  accountLocked: 'This account is locked for now. Try again later or contact the help desk',
  tooManyAttempts: 'Too many attempts. Try again later',
  formExpired: 'This page has expired. Submit it again',
  temporaryPasswordExpired: 'This temporary password has expired and can no longer be used. Take your ID card to the service desk for a new one',

  changeTitle: 'Choose a new password',
  changeHeading: 'Choose a new password',
  changeLead: 'You signed in with a temporary password from the service desk. Choose a new password that only you know; then you will continue to {client}.',
  changeRulesTitle: 'Your new password must',
  changeRuleLength: 'be at least 8 characters long. Letters, digits, symbols and Chinese characters all count; a short sentence you can remember is safest',
  changeRuleIdentity: 'not contain your ID number (or its last six characters), your date of birth or your phone number',
  changeRuleSimple: 'have at least 4 different characters, and not be a run like 12345678 or abcdefgh or a common password',
  changeRuleTemporary: 'not be the temporary password',
  newPasswordLabel: 'New password',
  confirmPasswordLabel: 'New password again',
  confirmPasswordHint: 'Exactly as above',
  saveNewPassword: 'Save the new password and continue',
  changeRestart: 'Sign in with the temporary password again, then choose your new password',

  newPasswordRequired: 'Enter a new password',
  newPasswordTooShort: 'The new password must be at least 8 characters long',
  newPasswordTooLong: 'The new password must be at most 256 characters long',
  newPasswordTooFewDifferent: 'The new password must have at least 4 different characters',
  newPasswordSequence: 'The new password cannot be a run like 12345678 or abcdefgh',
  newPasswordCommon: 'This password is too common and easy to guess. Choose another',
  newPasswordContainsIdNumber: 'The new password cannot contain your ID number or its last six characters',
  newPasswordContainsBirthdate: 'The new password cannot contain your date of birth',
  newPasswordContainsPhone: 'The new password cannot contain your phone number',
  newPasswordSameAsTemporary: 'The new password cannot be the temporary password',
  confirmPasswordRequired: 'Enter the new password again',
  confirmPasswordMismatch: 'The two new passwords are not the same. Enter them again',

  consentTitle: 'Allow access',
  consentHeading: '{client} wants to use your information',
  consentDepartment: 'Provided by {department}',
  consentIntro: 'If you allow it, this app will get:',
  sensitiveBadge: 'Sensitive',
  sensitiveWarning:
    'This app is asking for your full ID number. Your ID number is sensitive personal information: only allow this if you trust the app.',
  consentNote: 'The app gets this information only if you allow it.',
  allow: 'Allow',
  cancel: 'Cancel',
  claimOther: 'Other information: {claim}',

  logoutTitle: 'Sign out',
  logoutHeading: 'Do you want to sign out?',
  logoutFromClient: 'You are signing out of {client}.',
  logoutExplain: 'You will be signed out of every app you signed in to with Yihao.',
  logoutYes: 'Sign out',
  logoutNo: 'Stay signed in',

  signedOutTitle: 'You are signed out',
  signedOutMessage:
    'You have signed out of Yihao. If you are using a shared device, close the browser to protect your information.',
  errorTitle: 'Something went wrong',
  errorMessage: 'Sorry, something went wrong. Go back to the app and start again.',
  notFoundTitle: 'Page not found',
  notFoundMessage: 'Check the web address, or go back to the app and start again.',
  expiredTitle: 'This page has expired',
  expiredMessage: 'For your security, sign-in pages expire after a while. Go back to the app and sign in again.',
  accessDeniedTitle: 'Access not allowed',
  accessDeniedMessage: 'You did not allow the app to use your information.',
  statusLabel: 'Error code: {status}',
};

export const MESSAGES: Record<Lang, Messages> = { 'zh-CN': zhCN, en };

export function t(lang: Lang): (typeof MESSAGES)['zh-CN'] {
  return MESSAGES[lang];
}

/** Claims and scopes whose release deserves a warning on the consent page. */
export const SENSITIVE_CLAIMS: ReadonlySet<string> = new Set(['id_number']);

const zhClaims = {
  openid: '确认是您本人（应用会得到一个专属于它的账户编号，不是身份证号码）',
  profile: '基本资料：姓名、性别、出生日期',
  name: '姓名',
  phone: '手机号码',
  phone_number: '手机号码',
  birthdate: '出生日期',
  gender: '性别',
  id_number: '身份证号码（完整号码）',
  offline_access: '长期保持登录：即使您不在使用该应用，它也能继续获取以上信息',
  acr: '您的登录方式和认证等级',
  email: '电子邮箱地址',
} as const;

const enClaims: Record<keyof typeof zhClaims, string> = {
  openid: 'Confirmation that it is you (the app gets an account number of its own, not your ID number)',
  profile: 'Basic details: name, gender, date of birth',
  name: 'Your name',
  phone: 'Your mobile phone number',
  phone_number: 'Your mobile phone number',
  birthdate: 'Your date of birth',
  gender: 'Your gender',
  id_number: 'Your full national ID number',
  offline_access: 'Stay signed in to this app: it can keep getting this information when you are not using it',
  acr: 'How you signed in and how strongly',
  email: 'Your email address',
};

export const CLAIM_LABELS: Record<Lang, Record<string, string>> = { 'zh-CN': zhClaims, en: enClaims };
