// Every route in /openapi.json, called over real HTTP on `npm run dev` the way plain clients call
// it: the real curl binary, Node's fetch and Python's requests, each with every bodiless form
// where the route takes no body (or an optional one) and a JSON body where it takes one (a form
// body on the two OAuth endpoints). Each call gets fresh state from e2e/lib/route-fixtures.mjs
// and must answer what the contract says; a well-formed call is never 415, 400 or 500. Also: a
// method a documented path does not have is 405 with `Allow`. The route x client x form table
// goes to test-output/e2e/real-clients.txt.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, outDir } from '../lib/harness.mjs';
import { BODILESS, CLIENTS, FORMS, openClients } from '../lib/clients.mjs';
import { client, expectStatus } from '../lib/http.mjs';
import { fixtureKit, fixtures } from '../lib/route-fixtures.mjs';
import { indent, legend, render } from '../lib/status-table.mjs';
import { wireForms } from '../lib/wire-forms.mjs';

const CONCURRENCY = 4;

export async function realClients(ctx) {
  const { worker } = ctx;
  const clients = openClients();
  ctx.cleanups.push(() => clients.stop());
  // A failed check is recorded; the phase goes on to the next route.
  const soft = (name, fn) => check(name, fn).catch(() => {});

  await soft('each client puts each form on the wire as named (local echo server)', () =>
    wireForms(clients),
  );

  const doc = expectStatus(await client(worker.url).get('/openapi.json'), 200).body;
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      key: `${method.toUpperCase()} ${path}`,
      method: method.toUpperCase(),
      path,
      op,
    })),
  );
  const routes = [
    ...documented,
    ...Object.keys(fixtures)
      .filter((key) => !documented.some((r) => r.key === key))
      .map((key) => ({ key, method: key.split(' ')[0], path: key.split(' ')[1] })),
  ];

  await soft(
    `every route in /openapi.json has a fixture, and every fixture a documented route`,
    () => {
      const problems = [
        ...documented
          .filter((r) => !fixtures[r.key])
          .map((r) => `${r.key}: documented, no fixture`),
        ...routes.filter((r) => !r.op).map((r) => `${r.key}: in API.md, not in /openapi.json`),
      ];
      if (problems.length) assert.fail(problems.join('; '));
      return `${documented.length} routes`;
    },
  );

  const kit = fixtureKit({
    base: worker.url,
    appUrl: ctx.appUrl,
    persistTo: worker.persistTo,
    github: ctx.github,
    introspectionClient: ctx.introspectionClient,
  });
  // admin:grant writes the worker's SQLite file from another process: done before any call is
  // in flight, or the worker's own writes meet SQLITE_BUSY (503).
  await soft('an admin, granted with npm run admin:grant --persist-to <state>', async () => {
    await kit.admin();
  });
  const rows = [];
  for (const route of routes) {
    const fixture = fixtures[route.key];
    const row = { key: route.key, expected: fixture?.status, cells: {} };
    rows.push(row);
    if (!fixture) {
      await soft(`${route.key}: no fixture`, () => assert.fail('add one to route-fixtures.mjs'));
      continue;
    }
    // What the contract says about the body is what the fixture's call carries.
    let first;
    try {
      first = await setUp(fixture, kit);
    } catch (err) {
      await soft(`${route.key}: set-up`, () => assert.fail(err.message));
      continue;
    }
    const carries = first.json !== undefined || first.fields !== undefined;
    const body = fixture.bodiless ? 'optional' : carries ? 'required' : 'none';
    // The OAuth endpoints (RFC 7009, RFC 7662) take a form where every other route takes JSON.
    const full = first.fields !== undefined ? 'urlenc' : 'json';
    const forms =
      body === 'required' ? [full] : body === 'optional' ? [full, ...BODILESS] : BODILESS;
    const cases = CLIENTS.flatMap((name) => forms.map((form) => ({ client: name, form })));
    const outcomes = await pool(cases, CONCURRENCY, (c, i) =>
      callOnce(worker.url, clients, route, fixture, i === 0 ? first : undefined, kit, c),
    );
    for (const o of outcomes) row.cells[`${o.client} ${o.form}`] = o;
    await soft(`${route.key} -> ${describeExpected(fixture)} (${cases.length} calls)`, () => {
      const problems = [...documentProblems(route, fixture, body), ...grouped(outcomes)];
      if (problems.length) assert.fail(problems.join('; '));
    });
  }

  const unsupported = await unsupportedMethods(worker.url, clients, doc);
  await soft('a method a documented path lacks is 405 with Allow, never 415', () => {
    const paths = new Map();
    for (const row of unsupported) {
      for (const problem of grouped(Object.values(row.cells))) {
        paths.set(problem, [...(paths.get(problem) ?? []), row.key]);
      }
    }
    if (paths.size) {
      assert.fail(
        [...paths].map(([problem, keys]) => `${keys.length} paths, ${problem}: ${keys}`).join('; '),
      );
    }
    return `${unsupported.length} paths`;
  });

  const table = [
    'Every route in /openapi.json (and in API.md), by client and form: the status each call got.',
    'Expected status after the route. 415x: another status than expected; 200!: the status,',
    'not the body the contract promises; .: form not sent (the route takes a body, or none).',
    legend(),
    '',
    render(rows),
    '',
    'A method the path does not have (PUT): expected 405 with Allow.',
    render(unsupported),
  ].join('\n');
  writeFileSync(join(outDir, 'real-clients.txt'), `${table}\n`);
  console.log(indent(table));
}

/** Failed calls by what went wrong: "curl,fetch,requests none,cl0: 415 ..., expected 204". */
function grouped(outcomes) {
  const by = new Map();
  for (const o of outcomes.filter((o) => !o.ok)) {
    const entry = by.get(o.problem) ?? { clients: new Set(), forms: new Set() };
    entry.clients.add(o.client);
    entry.forms.add(o.form);
    by.set(o.problem, entry);
  }
  return [...by].map(([problem, { clients, forms }]) => {
    const names = CLIENTS.filter((c) => clients.has(c));
    return `${names} ${Object.keys(FORMS).filter((f) => forms.has(f))}: ${problem}`;
  });
}

const WITH_BODY = new Set(['json', 'urlenc']);
const setUp = (fixture, kit, form = 'json') =>
  fixture.call ? fixture.call(kit, { bodiless: !WITH_BODY.has(form) }) : {};

function describeExpected(fixture) {
  const main = `${fixture.status}${fixture.code ? ` ${fixture.code}` : ''}`;
  if (!fixture.bodiless) return main;
  const b = fixture.bodiless;
  return `${main}, bodiless ${b.status}${b.code ? ` ${b.code}` : ''}`;
}

/** Where /openapi.json and the contract disagree about a route. */
function documentProblems(route, fixture, body) {
  if (!route.op) return ['not in /openapi.json'];
  const problems = [];
  const documented = route.op.requestBody;
  const documentedBody = documented ? (documented.required ? 'required' : 'optional') : 'none';
  if (documentedBody !== body) {
    problems.push(`request body: ${body} in API.md, ${documentedBody} in /openapi.json`);
  }
  const answers = [fixture.status, fixture.bodiless?.status].filter(Boolean);
  for (const status of answers) {
    if (!route.op.responses?.[status]) {
      problems.push(
        `answer ${status} is not among the documented responses ${Object.keys(route.op.responses ?? {}).join(', ')}`,
      );
    }
  }
  return problems;
}

async function callOnce(base, clients, route, fixture, prepared, kit, { client: name, form }) {
  const expected = WITH_BODY.has(form) || !fixture.bodiless ? fixture : fixture.bodiless;
  let call = prepared;
  try {
    call ??= await setUp(fixture, kit, form);
  } catch (err) {
    return { client: name, form, ok: false, cell: 'setup', problem: `setup: ${err.message}` };
  }
  const path = route.path.replace(/\{(\w+)\}/g, (_, p) => encodeURIComponent(call.params[p]));
  const res = await clients.send(name, {
    method: route.method,
    url: base + path,
    bearer: call.bearer,
    basic: call.basic,
    form,
    json: form === 'json' ? call.json : undefined,
    fields: form === 'urlenc' ? call.fields : undefined,
  });
  if (res.error) return { client: name, form, ok: false, cell: 'err', problem: res.error };
  const outcome = { client: name, form, status: res.status, cell: String(res.status) };
  const got = `${res.status}${res.body?.code ? ` ${res.body.code}` : ''}`;
  if (res.status !== expected.status || (expected.code && res.body?.code !== expected.code)) {
    const want = `${expected.status}${expected.code ? ` ${expected.code}` : ''}`;
    return { ...outcome, ok: false, problem: `${got}, expected ${want}` };
  }
  try {
    await expected.check?.(res, { call, s: kit });
  } catch (err) {
    return { ...outcome, ok: false, cell: `${res.status}!`, problem: `${got}: ${err.message}` };
  }
  return { ...outcome, ok: true };
}

/** PUT on every documented path (no route here has PUT), bodiless and with a JSON body. */
async function unsupportedMethods(base, clients, doc) {
  const rows = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (ops.put) continue;
    const allowed = Object.keys(ops).map((m) => m.toUpperCase());
    const url = base + path.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000');
    const row = { key: `PUT ${path}`, expected: 405, cells: {} };
    rows.push(row);
    const cases = CLIENTS.flatMap((name) => ['none', 'json'].map((form) => ({ name, form })));
    await pool(cases, CONCURRENCY, async ({ name, form }) => {
      const res = await clients.send(name, { method: 'PUT', url, form, json: {} });
      const cell = { client: name, form, cell: res.error ? 'err' : String(res.status) };
      const allow = (res.headers?.allow ?? '').split(/,\s*/).filter(Boolean);
      const missing = allowed.filter((m) => !allow.includes(m));
      if (res.error) Object.assign(cell, { ok: false, problem: res.error });
      else if (res.status !== 405) {
        Object.assign(cell, { ok: false, problem: `${res.status} ${res.body?.code ?? ''}` });
      } else if (missing.length) {
        Object.assign(cell, { ok: false, problem: `Allow: ${allow.join(', ')} lacks ${missing}` });
      } else cell.ok = true;
      row.cells[`${name} ${form}`] = cell;
    });
  }
  return rows;
}

async function pool(items, size, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}
