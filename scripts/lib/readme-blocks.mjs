// The README's quick starts are the example files themselves: each is marked
//   <!-- quick start: examples/vite-app/main.js -->
// right above a fenced code block. The end-to-end suite runs those files and checks (as does a
// unit test) that each block is exactly its file.
import { readFileSync } from 'node:fs';

const MARKED_BLOCK = /<!-- quick start: (\S+) -->\n+```\w*\n([\s\S]*?)```\n/g;

/** { 'examples/vite-app/main.js': '<the block's code>', ... } from the README at `path`. */
export function quickStarts(path) {
  const text = readFileSync(path, 'utf8');
  return Object.fromEntries([...text.matchAll(MARKED_BLOCK)].map(([, file, code]) => [file, code]));
}
