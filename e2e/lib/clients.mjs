// The plain clients the worker must answer the way API.md says: the real `curl` binary, Node's
// fetch and Python's requests. Each sends a call as its users write it, with nothing added: no
// Origin, no cookies, no Content-Type unless the form says so.
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { root, runProcess, startProcess } from './harness.mjs';
import { findPython } from './python.mjs';

export const CLIENTS = ['curl', 'fetch', 'requests'];

/** The shapes a call takes: three bodiless ones (API.md "Conventions") and a JSON body. */
export const FORMS = {
  none: 'no body, no Content-Type',
  cl0: 'Content-Length: 0',
  json0: 'Content-Type: application/json, zero bytes',
  json: 'Content-Type: application/json with the JSON body',
  // The two OAuth endpoints (RFC 7009, RFC 7662) only: curl -d, fetch URLSearchParams, data=.
  urlenc: 'Content-Type: application/x-www-form-urlencoded with the form fields',
};
export const BODILESS = ['none', 'cl0', 'json0'];

/**
 * `curl -s -X DELETE -H 'Authorization: Bearer …' URL` and its variants, one per form; `basic`
 * ([id, secret]) is `-u`, `fields` the `urlenc` form's `--data-urlencode` pairs.
 */
export function curlArgs({ method, url, bearer, basic, form, json, fields }) {
  const args = ['-s', '-S', '--max-time', '15', '-D', '-', '-X', method];
  if (bearer) args.push('-H', `Authorization: Bearer ${bearer}`);
  if (basic) args.push('-u', basic.join(':'));
  if (form === 'urlenc') {
    for (const [k, v] of Object.entries(fields)) args.push('--data-urlencode', `${k}=${v}`);
  }
  if (form === 'cl0') args.push('-H', 'Content-Length: 0');
  if (form === 'json0') args.push('-H', 'Content-Type: application/json', '-d', '');
  if (form === 'json') {
    args.push('-H', 'Content-Type: application/json', '-d', JSON.stringify(json));
  }
  return [...args, url];
}

async function curl(call) {
  const out = await runProcess('curl', curlArgs(call), { timeoutMs: 20_000 });
  if (out.code !== 0) return { error: `curl exited ${out.code}: ${out.stderr.trim()}` };
  // `-D -` puts the header block(s) first; interim 1xx responses have blocks of their own.
  let rest = out.stdout;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    const head = rest.slice(0, end).split('\r\n');
    rest = rest.slice(end + 4);
    const status = Number(head[0].split(' ')[1]);
    if (!Number.isInteger(status)) return { error: `curl printed: ${out.stdout.slice(0, 200)}` };
    if (status >= 200 || end === -1) {
      const headers = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      return { status, headers, text: rest };
    }
  }
}

async function nodeFetch({ method, url, bearer, basic, form, json, fields }) {
  const headers = {};
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (basic) headers.Authorization = `Basic ${btoa(basic.join(':'))}`;
  if (form === 'cl0') headers['Content-Length'] = '0';
  if (form === 'json0' || form === 'json') headers['Content-Type'] = 'application/json';
  let body;
  // fetch refuses a body on GET, even an empty one: there the form is the header alone.
  if (form === 'json0' && method !== 'GET' && method !== 'HEAD') body = '';
  if (form === 'json') body = JSON.stringify(json);
  // fetch sets the form type itself for URLSearchParams.
  if (form === 'urlenc') body = new URLSearchParams(fields);
  try {
    const res = await fetch(url, {
      method,
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(15_000),
    });
    return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
  } catch (err) {
    return { error: `${err.name}: ${err.message}` };
  }
}

/** e2e/clients/requests_client.py, one process for the whole phase, spoken to line by line. */
function requestsClient() {
  const python = findPython('import requests', 'python3-requests');
  const proc = startProcess(
    'requests-client',
    python,
    [join(root, 'e2e/clients/requests_client.py')],
    { stdin: 'pipe' },
  );
  const pending = new Map();
  let nextId = 1;
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const answer = JSON.parse(line);
    pending.get(answer.id)?.(answer);
    pending.delete(answer.id);
  });
  proc.exited.then(() => {
    for (const resolve of pending.values()) {
      resolve({ error: `requests client exited; see ${proc.logFile}` });
    }
    pending.clear();
  });
  return {
    send: (call) =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        proc.stdin.write(`${JSON.stringify({ id, ...call })}\n`);
      }),
    stop: () => {
      proc.stdin.end();
      return proc.stop();
    },
  };
}

function withBody(answer) {
  if (answer.error) return answer;
  let body;
  try {
    body = answer.text ? JSON.parse(answer.text) : undefined;
  } catch {
    body = undefined;
  }
  return { ...answer, body };
}

/** The three clients, each `send(call) -> { status, headers, text, body } | { error }`. */
export function openClients() {
  const requests = requestsClient();
  const senders = { curl, fetch: nodeFetch, requests: requests.send };
  return {
    send: async (name, call) => withBody(await senders[name](call)),
    stop: () => requests.stop(),
  };
}
