import { raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

// The pages' JSX runtime: server-only, each element rendered to an escaped HTML string when it is
// made (tsconfig.json "jsxImportSource" names this folder; its "paths" entry is what TypeScript,
// esbuild in wrangler and the OpenAPI script, and Vite in vitest resolve it by, so the unit tests,
// `npm run dev`, the e2e suite and the production bundle all run this file). hono/jsx did the same
// job with 4 KiB gzip of client rendering, contexts, hooks and React 19 head hoisting the pages
// never use. The output is hono/jsx's, byte for byte (test/node/pages-jsx-differential.test.ts).
//
// The security core: every string child and attribute value is escaped (& < > " '), so no text
// can open a tag or leave its attribute. The rest is markup we write in source, and a mistake in
// it throws at render rather than reaching a browser: an attribute name that is not plain
// lowercase, an inline event handler or style attribute (the pages' CSP forbids them anyway),
// children in <script> or <style>, children of a void element.

/** What a page component renders: escaped HTML, or its promise (async components). */
export type Element = HtmlEscapedString | Promise<HtmlEscapedString>;
export type Child = Element | string | number | boolean | null | undefined | Child[];
type AttributeValue = string | number | boolean | null | undefined;
type Props = { children?: Child; [attribute: string]: AttributeValue | Child };
type Component = (props: never) => Child;

// HTML's void elements (`<input .../>`, no end tag) and boolean attributes (present as
// `name=""` when true, absent when false); any other attribute given a boolean says "true" or
// "false" (spellcheck, aria-*), as hono/jsx renders it.
const VOID = new Set('area base br col embed hr img input link meta source track wbr'.split(' '));
const BOOLEAN = new Set(
  (
    'allowfullscreen async autofocus autoplay checked controls default defer disabled download ' +
    'formnovalidate hidden inert ismap itemscope loop multiple muted nomodule novalidate open ' +
    'playsinline readonly required reversed selected'
  ).split(' '),
);
/** Lowercase words joined by hyphens: every HTML attribute and tag name the pages write. */
const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => ENTITIES[ch]!);

const isEscaped = (value: object) => (value as { isEscaped?: unknown }).isEscaped === true;

/** A child as HTML: text escaped, escaped HTML as it is, nothing for null, undefined, booleans. */
function render(child: Child): string | Promise<string> {
  if (typeof child === 'string') return escapeHtml(child);
  if (typeof child === 'number') return String(child);
  if (child === null || child === undefined || typeof child === 'boolean') return '';
  if (child instanceof Promise) return child.then(render);
  if (Array.isArray(child)) {
    const parts = child.map(render);
    return parts.some((p) => typeof p !== 'string')
      ? Promise.all(parts).then((done) => done.join(''))
      : parts.join('');
  }
  // Escaped HTML is a String object (typeof "object"), which TypeScript types as a string.
  if (isEscaped(child as object)) return String(child);
  throw new TypeError(`A page cannot render ${Object.prototype.toString.call(child)}`);
}

const escaped = (html: string | Promise<string>): Element =>
  typeof html === 'string' ? raw(html) : html.then((done) => raw(done));

function attributes(tag: string, props: Props): string {
  let html = '';
  for (const name in props) {
    if (name === 'children') continue;
    if (!NAME.test(name) || name.startsWith('on') || name === 'style') {
      throw new Error(`<${tag}> cannot have an attribute named ${JSON.stringify(name)}`);
    }
    const value = props[name];
    if (value === null || value === undefined || (value === false && BOOLEAN.has(name))) continue;
    if (value === true && BOOLEAN.has(name)) html += ` ${name}=""`;
    else if (typeof value === 'string') html += ` ${name}="${escapeHtml(value)}"`;
    else if (typeof value === 'number' || typeof value === 'boolean') html += ` ${name}="${value}"`;
    else throw new TypeError(`<${tag} ${name}> must be a string, number or boolean`);
  }
  return html;
}

function element(tag: string, props: Props): Element {
  if (!NAME.test(tag)) throw new Error(`${JSON.stringify(tag)} is not an element name`);
  const open = `<${tag}${attributes(tag, props)}`;
  const { children } = props;
  const empty = children === undefined;
  if (VOID.has(tag) || tag === 'script' || tag === 'style') {
    if (!empty) throw new Error(`<${tag}> cannot have children here`);
    if (VOID.has(tag)) return raw(`${open}/>`);
  }
  const inner = render(children);
  return escaped(
    typeof inner === 'string'
      ? `${open}>${inner}</${tag}>`
      : inner.then((done) => `${open}>${done}</${tag}>`),
  );
}

export function jsx(tag: string | Component, props: Props): Element {
  if (typeof tag === 'function') return escaped(render((tag as (p: Props) => Child)(props)));
  return element(tag, props);
}

export const Fragment = ({ children }: { children?: Child }): Element => escaped(render(children));

export { jsx as jsxs };

export declare namespace JSX {
  type Element = HtmlEscapedString | Promise<HtmlEscapedString>;
  interface ElementChildrenAttribute {
    children: unknown;
  }
  interface IntrinsicElements {
    [tag: string]: Props;
  }
}
