import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { recentMessages } from '../mail/dev-mailbox';
import { escapeHtml } from '../mail/templates';
import { iso } from '../users/users';
import { createRouter } from '../router';

/** These routes exist only while the development mailbox is the transport (never in production). */
const mailboxOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (c.var.config.MAIL_TRANSPORT !== 'dev-mailbox')
    throw new ApiError('not_found', 'No such route.');
  await next();
});

const message = z.object({
  id: z.string(),
  to: z.string(),
  subject: z.string(),
  text: z.string(),
  html: z.string(),
  sent_at: z.string(),
});

async function messages(d1: D1Database) {
  return (await recentMessages(d1)).map((m) => ({
    id: m.id,
    to: m.to,
    subject: m.subject,
    text: m.text,
    html: m.html,
    sent_at: iso(m.sentAt),
  }));
}

/** Escaped text with its http(s) links made clickable. */
const linkify = (text: string) =>
  escapeHtml(text).replace(/https?:\/\/[^\s<]+/g, (url) => `<a href="${url}">${url}</a>`);

function page(list: Awaited<ReturnType<typeof messages>>): string {
  const items = list
    .map(
      (m) => `<article><h2>${escapeHtml(m.subject)}</h2>
<p class="meta">To <b>${escapeHtml(m.to)}</b> at <time>${m.sent_at}</time></p>
<pre>${linkify(m.text)}</pre></article>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Development mailbox</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
article{border:1px solid #ccc;border-radius:6px;padding:0 1rem;margin:1rem 0}h2{font-size:1.1rem}
.meta{color:#555;font-size:.9rem}pre{white-space:pre-wrap;font:inherit}</style></head><body>
<h1>Development mailbox</h1><p>Messages this worker “sent”, newest first. Local development only.</p>
${items || '<p><i>No messages yet.</i></p>'}
</body></html>`;
}

export const dev = createRouter();
dev.use('/dev/*', mailboxOnly);
dev
  .openapi(
    createRoute({
      method: 'get',
      path: '/dev/mailbox.json',
      ...(__OPENAPI_DOCS__ && {
        tags: ['Development'],
        summary: 'Messages of the development mailbox (only with MAIL_TRANSPORT=dev-mailbox)',
        responses: {
          200: {
            description: 'Newest first',
            content: { 'application/json': { schema: z.object({ messages: z.array(message) }) } },
          },
          404: { description: 'Another mail transport is configured' },
        },
      }),
    }),
    async (c) => {
      c.header('Cache-Control', 'no-store');
      return c.json({ messages: await messages(c.env.DB) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/dev/mailbox',
      ...(__OPENAPI_DOCS__ && {
        tags: ['Development'],
        summary: 'The development mailbox as a page (newest first, links clickable, no JavaScript)',
        responses: {
          200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } },
          404: { description: 'Another mail transport is configured' },
        },
      }),
    }),
    async (c) => {
      c.header('Cache-Control', 'no-store');
      c.header(
        'Content-Security-Policy',
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
      );
      return c.html(page(await messages(c.env.DB)), 200);
    },
  );
