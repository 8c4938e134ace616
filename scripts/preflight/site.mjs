// "Same site" as browsers mean it for SameSite cookies: same scheme and same registrable domain
// (eTLD+1). The full Public Suffix List is not bundled; this is an approximation: the
// registrable domain is the last two labels, or the last three when the last two are a public
// suffix listed below (country second levels and the hosting platforms whose subdomains belong
// to different owners). A suffix missing from the list makes two sites under it look like one,
// so preflight may accept what a browser treats as cross-site there; never the reverse for
// ordinary domains.
const MULTI_LABEL_SUFFIXES = new Set([
  // Hosting platforms (Public Suffix List, private section): each subdomain is its own site.
  'workers.dev',
  'pages.dev',
  'github.io',
  'vercel.app',
  'netlify.app',
  'herokuapp.com',
  'web.app',
  'firebaseapp.com',
  'onrender.com',
  'fly.dev',
  'azurewebsites.net',
  'cloudfront.net',
  'appspot.com',
  'glitch.me',
  'replit.app',
  'deno.dev',
  // Country second levels.
  ...['co', 'org', 'ac', 'gov', 'ltd', 'plc', 'me', 'net', 'sch'].map((l) => `${l}.uk`),
  ...['com', 'net', 'org', 'edu', 'gov', 'asn', 'id'].map((l) => `${l}.au`),
  ...['co', 'or', 'ne', 'ac', 'go', 'ed'].map((l) => `${l}.jp`),
  ...['co', 'org', 'net', 'ac', 'govt', 'geek', 'gen', 'kiwi', 'school'].map((l) => `${l}.nz`),
  ...['co', 'org', 'net', 'ac', 'gov', 'web'].map((l) => `${l}.za`),
  ...['com', 'net', 'org', 'gov', 'edu'].map((l) => `${l}.br`),
  ...['com', 'net', 'org', 'gov', 'edu'].map((l) => `${l}.cn`),
  ...['com', 'net', 'org', 'gov', 'edu'].map((l) => `${l}.mx`),
  ...['com', 'net', 'org', 'gov', 'edu'].map((l) => `${l}.tr`),
  ...['com', 'net', 'org', 'gov', 'edu'].map((l) => `${l}.sg`),
  ...['com', 'net', 'org', 'gov', 'edu'].map((l) => `${l}.hk`),
  ...['com', 'net', 'org', 'gov', 'edu'].map((l) => `${l}.tw`),
  ...['co', 'net', 'org', 'gov', 'ac', 'res', 'gen', 'firm', 'ind'].map((l) => `${l}.in`),
  ...['co', 'or', 'go', 'ac', 'ne', 're'].map((l) => `${l}.kr`),
  ...['co', 'org', 'ac', 'gov', 'net'].map((l) => `${l}.il`),
  ...['com', 'net', 'org', 'gov', 'edu'].map((l) => `${l}.ar`),
  ...['com', 'net', 'org', 'gov', 'edu'].map((l) => `${l}.my`),
  ...['co', 'or', 'ac', 'go'].map((l) => `${l}.id`),
  ...['co', 'or', 'ac', 'go', 'in'].map((l) => `${l}.th`),
]);

const IP = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\])$/i;

/** The registrable domain of a host (approximate, see above); an IP address is its own. */
export function registrableDomain(host) {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (IP.test(h)) return h;
  const labels = h.split('.');
  if (labels.length <= 2) return h;
  const lastTwo = labels.slice(-2).join('.');
  return MULTI_LABEL_SUFFIXES.has(lastTwo) ? labels.slice(-3).join('.') : lastTwo;
}

/** Same scheme and same registrable domain (schemeful same-site, as browsers apply it). */
export function sameSite(a, b) {
  const x = new URL(a);
  const y = new URL(b);
  return (
    x.protocol === y.protocol && registrableDomain(x.hostname) === registrableDomain(y.hostname)
  );
}
