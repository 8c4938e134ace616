// The route x client x form table of the real-clients phase.
import { CLIENTS, FORMS, curlArgs } from './clients.mjs';

export function legend() {
  const quote = (arg) => (/[\s*]/.test(arg) ? `'${arg}'` : arg);
  const curl = curlArgs({ method: 'DELETE', url: 'URL', bearer: '…', form: 'none' });
  return [
    `forms: ${Object.entries(FORMS)
      .map(([k, v]) => `${k} = ${v}`)
      .join('; ')}`,
    `curl none: curl ${curl.map(quote).join(' ')}; cl0 adds -H 'Content-Length: 0'; json0 adds -H 'Content-Type: application/json' -d ''`,
  ].join('\n');
}

export function render(rows) {
  const forms = Object.keys(FORMS);
  const cell = 6;
  const group = cell * forms.length;
  const width = Math.max(...rows.map((r) => r.key.length)) + 5;
  const lines = [
    ' '.repeat(width) + CLIENTS.map((c) => `| ${c.padEnd(group)}`).join(''),
    ' '.repeat(width) +
      CLIENTS.map(() => `| ${forms.map((f) => f.padEnd(cell)).join('')}`).join(''),
  ];
  for (const row of rows) {
    let line = `${row.key} ${row.expected ?? '-'}`.padEnd(width);
    for (const name of CLIENTS) {
      line += `| ${forms.map((form) => mark(row.cells[`${name} ${form}`]).padEnd(cell)).join('')}`;
    }
    lines.push(line.trimEnd());
  }
  return lines.join('\n');
}

/** `.` not sent, `415x` another status than expected, `200!` the status but not the body. */
const mark = (o) => (!o ? '.' : o.ok || o.cell.endsWith('!') ? o.cell : `${o.cell}x`);

export const indent = (text) =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
