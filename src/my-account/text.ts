// Strings of the citizen's "my apps" pages, Simplified Chinese first. Plain text: `{app}` and `{n}` are filled
// in by the views after escaping. Scope and claim names use the consent page's words (interactions/i18n.ts),
// so a person reads the same thing when granting and when withdrawing.
import type { Lang } from '../interactions/i18n.ts';

const zhCN = {
  title: '我授权的应用',
  intro: '下列应用经您同意，可以通过一号确认您的身份并获取您的信息。您可以随时撤回授权。',
  empty: '您还没有授权任何应用。',
  department: '所属部门',
  canGet: '可以获取',
  grantedAt: '授权时间',
  lastUsed: '最近使用',
  neverUsed: '没有记录',
  offline: '长期访问：您不在使用时，该应用也能继续获取您的信息',
  firstParty: '这是政府部门自有的应用：撤回后会让您退出该应用；您下次登录该应用时，授权会自动恢复。',
  withdraw: '撤回授权',
  withdrawConfirm: '确定撤回对“{app}”的授权吗？该应用将立即失去访问权限，您会从该应用退出；下次使用时需要重新同意。',
  withdrawYes: '确认撤回',
  withdrawn: '已撤回对“{app}”的授权。该应用已无法再获取您的信息。',
  signOut: '退出一号',
  notFoundTitle: '找不到此授权',
  notFoundMessage: '这项授权不存在，或已被撤回。',
  expiredTitle: '页面已过期',
  expiredMessage: '为了您的安全，请返回“我授权的应用”后重试。',
  errorTitle: '出错了',
  errorMessage: '暂时无法完成操作，请稍后再试。',
  unavailableMessage: '系统暂时无法记录此操作，因此没有执行。请稍后再试。',
  signInFailedMessage: '登录没有完成，请重新打开“我授权的应用”。',
  backToApps: '返回我授权的应用',
};

const en: typeof zhCN = {
  title: 'Apps you have allowed',
  intro: 'With your permission, these apps can confirm who you are through Yihao and get your information. You can withdraw permission at any time.',
  empty: 'You have not allowed any apps yet.',
  department: 'Department',
  canGet: 'Can get',
  grantedAt: 'Allowed on',
  lastUsed: 'Last used',
  neverUsed: 'No record',
  offline: 'Long-term access: the app can keep getting your information when you are not using it',
  firstParty: 'This app belongs to a government department: withdrawing signs you out of it, and signing in there again restores its access automatically.',
  withdraw: 'Withdraw permission',
  withdrawConfirm: 'Withdraw permission for “{app}”? The app loses access at once and you are signed out of it; it will ask for your permission again next time.',
  withdrawYes: 'Yes, withdraw',
  withdrawn: 'Permission for “{app}” withdrawn. The app can no longer get your information.',
  signOut: 'Sign out of Yihao',
  notFoundTitle: 'Permission not found',
  notFoundMessage: 'This permission does not exist or has already been withdrawn.',
  expiredTitle: 'This page has expired',
  expiredMessage: 'For your security, go back to your apps and try again.',
  errorTitle: 'Something went wrong',
  errorMessage: 'This could not be done right now. Please try again later.',
  unavailableMessage: 'The system cannot record this action right now, so it was not done. Please try again later.',
  signInFailedMessage: 'Signing in did not finish. Please open your apps again.',
  backToApps: 'Back to your apps',
};

export type AccountText = typeof zhCN;
export const accountText = (lang: Lang): AccountText => (lang === 'en' ? en : zhCN);
