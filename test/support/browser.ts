// A minimal browser for protocol tests: a cookie jar, manual redirects, and form posts.
// (Pages themselves are tested in real Chromium; this drives the HTTP flow quickly.)
import { request as httpRequest } from 'node:http';

export interface Page { url: string; status: number; html: string; location?: string }

// What a browser sends for a top-level navigation. Some relying parties (mod_auth_openidc) start a login
// only for a navigation and answer anything else (fetch/XHR) with 401.
const NAVIGATION_HEADERS = { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

type Transport = (url: URL, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<Response>;

const viaFetch: Transport = (url, init) => fetch(url, { ...init, redirect: 'manual' });

// Node's fetch always sends `Sec-Fetch-Mode: cors`, whatever the caller sets: navigations go out through
// node:http with the headers exactly as given.
const viaNodeHttp: Transport = (url, init) => new Promise<Response>((resolve, reject) => {
  const body = init.body === undefined ? undefined : Buffer.from(init.body);
  const req = httpRequest(url, {
    method: init.method,
    headers: { ...init.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
  }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const headers = new Headers();
      for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
      const status = res.statusCode ?? 502;
      resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers }));
    });
    res.on('error', reject);
  });
  req.on('error', reject);
  req.end(body);
});

export class Browser {
  private jar = new Map<string, Map<string, string>>(); // hostname → cookie name → value
  readonly headers: Record<string, string>;
  private readonly send: Transport;

  constructor(headers: Record<string, string> = {}, o: { navigation?: boolean } = {}) {
    this.headers = o.navigation ? { ...NAVIGATION_HEADERS, ...headers } : headers;
    this.send = o.navigation ? viaNodeHttp : viaFetch;
  }

  /** A browser whose every request is a top-level navigation (Sec-Fetch-Mode: navigate). */
  static navigating(headers: Record<string, string> = {}): Browser {
    return new Browser(headers, { navigation: true });
  }

  private cookieHeader(url: URL): string {
    return [...(this.jar.get(url.hostname) ?? new Map())].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private store(url: URL, res: Response) {
    const cookies = this.jar.get(url.hostname) ?? new Map<string, string>();
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()));
      if (expired || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
    this.jar.set(url.hostname, cookies);
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page> {
    const target = new URL(url);
    const res = await this.send(target, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers: {
        ...this.headers,
        cookie: this.cookieHeader(target),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded', origin: target.origin } : {}),
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    this.store(target, res);
    const location = res.headers.get('location');
    return { url, status: res.status, html: await res.text(), location: location ? new URL(location, target).href : undefined };
  }

  /** Follows redirects until a page renders or the URL starts with `stopAt` (the app's redirect_uri). */
  async navigate(url: string, stopAt?: string, init?: { form?: Record<string, string> }): Promise<Page> {
    let page = await this.request(url, init);
    for (let hops = 0; page.location && hops < 20; hops++) {
      if (stopAt && page.location.startsWith(stopAt)) return { ...page, url: page.location };
      page = await this.request(page.location);
    }
    return page;
  }

  cookies(hostname: string): Map<string, string> {
    return this.jar.get(hostname) ?? new Map();
  }
}

export function formOf(html: string, base: string, index = 0): { action: string; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
  const form = forms[index];
  if (!form) throw new Error(`no form #${index} in page:\n${html.slice(0, 500)}`);
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input[^>]*name="([^"]+)"[^>]*?(?:value="([^"]*)")?[^>]*>/g)) {
    if (/type="hidden"/.test(input[0])) fields[input[1]!] = decode(/value="([^"]*)"/.exec(input[0])?.[1] ?? '');
  }
  return { action: new URL(decode(form[1]!), base).href, fields };
}

const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
