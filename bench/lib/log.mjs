/** Progress on stderr; stdout carries only the report. */
export const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
