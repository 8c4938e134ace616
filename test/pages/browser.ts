// A script-free browser for the page tests: it keeps cookies, sends forms the way a browser
// posts them (urlencoded, with Origin), and reads the form token from the last page it got.
import { call, ORIGIN } from '../helpers';

export const SITE = 'https://auth.test';

export class Browser {
  readonly cookies = new Map<string, string>();
  /** The last HTML page's form token. */
  token = '';
  last = '';

  constructor(private readonly origin = SITE) {}

  private remember(res: Response) {
    for (const header of res.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair!.indexOf('=');
      const [name, value] = [pair!.slice(0, eq), pair!.slice(eq + 1)];
      if (/max-age=0/i.test(header)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private headers(extra: Record<string, string> = {}) {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    return { ...(cookie ? { Cookie: cookie } : {}), ...extra };
  }

  async get(path: string, overrides?: Record<string, unknown>) {
    const res = await call(path, { headers: this.headers() }, overrides);
    return this.read(res);
  }

  /** Posts `fields` as a form; the page's token is added unless `fields` has its own `_csrf`. */
  async post(
    path: string,
    fields: Record<string, string>,
    options: {
      origin?: string | null;
      headers?: Record<string, string>;
      overrides?: Record<string, unknown>;
    } = {},
  ) {
    const origin = options.origin === undefined ? this.origin : options.origin;
    const body = new URLSearchParams({ _csrf: this.token, ...fields });
    const headers = this.headers({
      'Content-Type': 'application/x-www-form-urlencoded',
      ...(origin ? { Origin: origin } : {}),
      ...options.headers,
    });
    const res = await call(path, { method: 'POST', headers, body }, options.overrides);
    return this.read(res);
  }

  private async read(res: Response) {
    this.remember(res);
    const text = await res.text();
    if (res.headers.get('Content-Type')?.startsWith('text/html')) {
      this.last = text;
      this.token = /name="_csrf" value="([^"]*)"/.exec(text)?.[1] ?? this.token;
    }
    return { status: res.status, headers: res.headers, text };
  }

  /** The value of a hidden field on the last page. */
  field(name: string) {
    return new RegExp(`name="${name}" value="([^"]*)"`).exec(this.last)?.[1] ?? '';
  }
}

export { ORIGIN };
