import type { Context } from 'hono';
import type { Child } from './jsx/jsx-runtime';
import type { AppEnv } from '../env';
import { PASSKEY_OPTION_ROUTES } from '../passkeys/script';
import { returnOrigins } from './return-to';
import { strings } from './strings';

/**
 * The policy of every page: nothing inline (no script or style attribute a stored XSS could
 * use), our own stylesheet and script only, forms posting only to us (and redirecting only to
 * where a sign-in may return), never framed (THREATS E7, K3, K4).
 */
function contentSecurityPolicy(c: Context<AppEnv>): string {
  const { LOGO_URL } = c.var.config;
  const origin = new URL(c.req.url).origin;
  const images = ["'self'", ...(LOGO_URL ? [new URL(LOGO_URL).origin] : [])];
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    // The passkey ceremonies fetch their options from two page routes of ours, and nothing
    // else: a script of ours can never reach the API (/auth/refresh) with the session cookie.
    `connect-src ${PASSKEY_OPTION_ROUTES.map((path) => origin + path).join(' ')}`,
    `img-src ${images.join(' ')}`,
    `form-action 'self' ${returnOrigins(c.var.config).join(' ')}`.trim(),
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

type LayoutProps = { c: Context<AppEnv>; title: string; signOut?: string; children?: Child };

function Layout({ c, title, signOut, children }: LayoutProps) {
  const { PRODUCT_NAME, LOGO_URL } = c.var.config;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${title} · ${PRODUCT_NAME}`}</title>
        <link rel="stylesheet" href="/pages.css" />
        <script src="/pages.js" defer />
      </head>
      <body>
        <header>
          <a class="brand" href="/account">
            {LOGO_URL ? <img src={LOGO_URL} alt="" /> : null}
            <span>{PRODUCT_NAME}</span>
          </a>
          {signOut ? (
            <form method="post" action="/sign-out">
              <input type="hidden" name="_csrf" value={signOut} />
              <button class="secondary" type="submit">
                {strings.signOut}
              </button>
            </form>
          ) : null}
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}

/**
 * Renders a page: its policy, never cached (pages carry form tokens and personal data), and a
 * status that says what happened, so a script-free client and a test read it the same way.
 * `signOut` is the form token when a sign-out button belongs in the header.
 */
export async function renderPage(
  c: Context<AppEnv>,
  status: 200 | 400 | 401 | 403 | 404 | 409 | 422 | 423 | 429 | 503,
  title: string,
  body: Child,
  signOut?: string,
) {
  c.header('Content-Security-Policy', contentSecurityPolicy(c));
  c.header('Cache-Control', 'no-store');
  const page = (
    <Layout c={c} title={title} signOut={signOut}>
      {body}
    </Layout>
  );
  return c.html(`<!doctype html>${await page}`, status);
}

/** The hidden form token every page form carries. */
export const Csrf = ({ token }: { token: string }) => (
  <input type="hidden" name="_csrf" value={token} />
);

/** A message above a form: an error, or a notice of what just happened. */
export const Message = ({ error, notice }: { error?: string | null; notice?: string | null }) => (
  <>
    {error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : null}
    {notice ? (
      <p class="notice" role="status">
        {notice}
      </p>
    ) : null}
  </>
);
