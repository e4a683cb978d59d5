// The load generator's HTTP: node:http over one keep-alive agent (cheap per request, so the
// generator steals as little as possible of the two cores from the server), and a cookie jar per
// virtual user. Redirects are never followed here: the flows follow them step by step.
import http from 'node:http';

export interface Reply { status: number; location?: URL; body: string }

/** An unexpected response (or a network failure, status 0) at a named step of a flow. */
export class FlowError extends Error {
  readonly step: string;
  readonly status: number;
  constructor(step: string, status: number, detail = '') {
    super(`${step}: ${status === 0 ? 'network error' : `HTTP ${status}`}${detail ? ` ${detail}` : ''}`);
    this.step = step;
    this.status = status;
  }
  /** How the error is counted: step and status ("token 400"). */
  get kind(): string { return `${this.step} ${this.status === 0 ? 'network' : this.status}`; }
}

export class CookieJar {
  private cookies = new Map<string, string>();

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  // One host, so paths and domains are ignored (as test/support/browser.ts does).
  store(lines: string[] | undefined): void {
    for (const line of lines ?? []) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  get size(): number { return this.cookies.size; }
}

export interface RequestOptions {
  step: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  form?: Record<string, string>;
  jar?: CookieJar;
}

export class HttpClient {
  readonly origin: URL;
  private readonly agent: http.Agent;
  private readonly common: Record<string, string> = { 'user-agent': 'yihao-bench', 'accept-language': 'zh-CN,zh;q=0.9' };

  constructor(origin: string, maxSockets: number) {
    this.origin = new URL(origin);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  request(target: string | URL, o: RequestOptions): Promise<Reply> {
    const url = new URL(target, this.origin);
    const body = o.form ? new URLSearchParams(o.form).toString() : undefined;
    const headers: Record<string, string> = { ...this.common, ...o.headers };
    const cookie = o.jar?.header();
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = http.request({
        agent: this.agent, hostname: url.hostname, port: url.port, path: url.pathname + url.search,
        method: o.method ?? (body === undefined ? 'GET' : 'POST'), headers,
      }, (res) => {
        o.jar?.store(res.headers['set-cookie']);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => reject(new FlowError(o.step, 0)));
        res.on('end', () => {
          const location = res.headers.location;
          resolve({ status: res.statusCode ?? 0, location: location ? new URL(location, url) : undefined, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.on('error', (err) => reject(new FlowError(o.step, 0, err.message)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
