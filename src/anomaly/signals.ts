// The anomaly signals read from login outcomes as they happen, and their thresholds (docs/console.md).
// Each signal counts events about one subject in a fixed window that starts at its first event; the
// observation that brings the count to the threshold fires it, once per window.
//
// Defaults are set against the login throttle (LOGIN_MAX_FAILURES 5 per ID number, LOGIN_IP_MAX_FAILURES
// 100 per IP, 15 minutes): an anomaly means more than the throttle already handles quietly.
import { maskIdNumber } from '../identity/id-number.ts';

export const SIGNALS = ['account_failures', 'ip_failures', 'region_failures', 'ip_many_numbers', 'account_many_ips'] as const;
export type Signal = typeof SIGNALS[number];

export interface Threshold {
  /** Events (or distinct members) in one window that fire the signal. */
  count: number;
  windowSeconds: number;
}

export type Thresholds = Record<Signal, Threshold>;

export const DEFAULT_THRESHOLDS: Thresholds = {
  // Failures for one ID number (by its blind index, known to us or not): twice the lockout, so someone kept
  // trying after the account was locked.
  account_failures: { count: 10, windowSeconds: 15 * 60 },
  // Failures from one IP: a fast guesser, well before the IP throttle (100 in 15 minutes) stops it.
  ip_failures: { count: 30, windowSeconds: 5 * 60 },
  // Failures across one region (the first 6 digits: the GB/T 2260 administrative division of issue):
  // an attack spread over many IPs and numbers of one city or county.
  region_failures: { count: 200, windowSeconds: 5 * 60 },
  // One IP failing with many different numbers: credential stuffing or enumeration. Successes do not
  // count, so a service hall or a company NAT where many people sign in is not flagged.
  ip_many_numbers: { count: 10, windowSeconds: 15 * 60 },
  // One person signing in from several IPs at once: a shared or stolen password.
  account_many_ips: { count: 3, windowSeconds: 10 * 60 },
};

/** A login outcome as the detector sees it. The clear number stays in memory: only its region and mask are kept. */
export interface LoginObservation {
  ok: boolean;
  idNumber: string;
  /** The number's blind index (accounts.indexOf). */
  index: string;
  ip: string;
  /** Known when the number belongs to an account. */
  accountId?: string;
  reason?: string;
}

/** One event for one signal's window: counted, or (with member) counted once per distinct member. */
export interface Hit {
  signal: Signal;
  subject: string;
  member?: string;
  threshold: Threshold;
}

export const regionOf = (idNumber: string) => (/^\d{6}/.test(idNumber) ? idNumber.slice(0, 6) : undefined);

export function hitsFor(o: LoginObservation, t: Thresholds): Hit[] {
  if (o.ok) return o.accountId ? [{ signal: 'account_many_ips', subject: o.accountId, member: o.ip, threshold: t.account_many_ips }] : [];
  const region = regionOf(o.idNumber);
  return [
    { signal: 'account_failures', subject: o.index, threshold: t.account_failures },
    { signal: 'ip_failures', subject: o.ip, threshold: t.ip_failures },
    ...(region ? [{ signal: 'region_failures' as const, subject: region, threshold: t.region_failures }] : []),
    { signal: 'ip_many_numbers', subject: o.ip, member: o.index, threshold: t.ip_many_numbers },
  ];
}

/** What an anomaly's audit event says about its subject, never the clear number. */
export function describeSubject(signal: Signal, o: LoginObservation): Record<string, string> {
  switch (signal) {
    case 'account_failures': return { id_masked: maskIdNumber(o.idNumber) };
    case 'region_failures': return { region: regionOf(o.idNumber) ?? '' };
    case 'account_many_ips': return { id_masked: maskIdNumber(o.idNumber) };
    default: return {};
  }
}

export const anomalyType = (signal: Signal) => `anomaly.${signal}`;
export const ANOMALY_TYPES = SIGNALS.map(anomalyType);
