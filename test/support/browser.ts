// A minimal browser for protocol tests: a cookie jar, manual redirects, and form posts.
// (Pages themselves are tested in real Chromium; this drives the HTTP flow quickly.)
export interface Page { url: string; status: number; html: string; location?: string }

export class Browser {
  private jar = new Map<string, Map<string, string>>(); // hostname → cookie name → value
  readonly headers: Record<string, string>;

  constructor(headers: Record<string, string> = {}) {
    this.headers = headers;
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
    const res = await fetch(target, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        ...this.headers,
        cookie: this.cookieHeader(target),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded', origin: target.origin } : {}),
      },
      body: init.form ? new URLSearchParams(init.form) : undefined,
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
