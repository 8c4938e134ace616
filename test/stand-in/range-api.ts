// A local stand-in for the Pwned Passwords range API, answering in its documented format
// (https://haveibeenpwned.com/API/v3#SearchingPwnedPasswordsByRange): the worker's outbound
// fetch() calls to this host arrive here through miniflare's `outboundService`.
//   GET https://range.stand-in.test/range/{5 hex}   "SUFFIX:COUNT" lines joined by CRLF, the
//       suffix in upper-case hex; with `Add-Padding: true`, padded to 800 lines of count 0
//   GET https://range.stand-in.test/slow/range/...  the same answer after 3 s
//   GET https://range.stand-in.test/error/range/... 503
//   GET https://range.stand-in.test/_requests       what it received, for the tests to read
// Only WebCrypto, so the tests (in workerd) can import the constants.
export const RANGE_STAND_IN_HOST = 'range.stand-in.test';
/** In the stand-in's corpus with a count of 3. */
export const BREACHED_PASSWORD = 'purple monkey dishwasher 42';
/** Only ever a padding line (count 0) of its range: not breached. */
export const PADDED_PASSWORD = 'velvet lantern over the quarry';

const PADDED_LINES = 800;
type Received = { path: string; addPadding: string | null; body: string };
const received: Received[] = [];

export async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
}

const randomSuffix = () =>
  [...crypto.getRandomValues(new Uint8Array(18))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')
    .slice(1)
    .toUpperCase();

export async function rangeStandIn(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (request.method === 'GET' && url.pathname === '/_requests') return Response.json(received);
  const match = /^\/(slow\/|error\/)?range\/([0-9A-Fa-f]{5})$/.exec(url.pathname);
  if (request.method !== 'GET' || !match) return new Response('not found', { status: 404 });
  received.push({
    path: url.pathname,
    addPadding: request.headers.get('add-padding'),
    body: await request.text(),
  });
  const [, mode, prefix] = match as unknown as [string, string | undefined, string];
  if (mode === 'error/') return new Response('service unavailable', { status: 503 });
  if (mode === 'slow/') await new Promise((r) => setTimeout(r, 3_000));

  // Every real range holds hundreds of breached suffixes: two that are not ours come first.
  const lines = [`${randomSuffix()}:12`, `${randomSuffix()}:1`];
  const breached = await sha1Hex(BREACHED_PASSWORD);
  if (breached.startsWith(prefix.toUpperCase())) lines.push(`${breached.slice(5)}:3`);
  if (request.headers.get('add-padding') === 'true') {
    const padded = await sha1Hex(PADDED_PASSWORD);
    if (padded.startsWith(prefix.toUpperCase())) lines.push(`${padded.slice(5)}:0`);
    while (lines.length < PADDED_LINES) lines.push(`${randomSuffix()}:0`);
  }
  return new Response(lines.join('\r\n'), {
    headers: { 'Content-Type': 'text/plain' },
  });
}
