const fmt = (x, digits = 0) => (x === null || x === undefined ? '–' : x.toFixed(digits));
const ratio = (x) => (x === null || x === undefined ? '–' : `${x.toFixed(2)}×`);

/** The rows as one Markdown table, numbers right-aligned. */
export function table(rows) {
  const head = [
    'benchmark',
    'c',
    'req/s',
    'p50 ms',
    'p99 ms',
    'errors',
    '× bare',
    '× live',
    '× ready',
    'vs limit',
  ];
  const body = rows.map((r) => [
    r.name,
    r.connections ?? '–',
    fmt(r.rps),
    fmt(r.p50Ms, r.p50Ms < 10 ? 2 : 1),
    fmt(r.p99Ms, r.p99Ms < 10 ? 2 : 1),
    r.errors ?? '–',
    ratio(r.vsBare),
    ratio(r.vsLive),
    ratio(r.vsReady),
    r.vsLimit ?? '–',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  return [
    line(head),
    `|${widths.map((w, i) => (i === 0 ? `-${'-'.repeat(w)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`,
    ...body.map(line),
  ].join('\n');
}
