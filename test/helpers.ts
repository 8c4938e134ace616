import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import worker from '../src/index';

export const ORIGIN = 'https://app.example.com';

/**
 * Sends a request through the worker's real `fetch` with the real D1 and KV bindings. `overrides`
 * replaces env entries (a var, a broken binding) for this request only.
 */
export async function call(
  path: string,
  init: RequestInit = {},
  overrides?: Partial<Record<keyof Env, unknown>>,
): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`https://auth.test${path}`, init);
  const bindings = overrides ? ({ ...env, ...overrides } as Env) : env;
  const response = await worker.fetch(request, bindings, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export function json(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

export async function expectProblem(res: Response, status: number, code: string) {
  const { expect } = await import('vitest');
  expect(res.headers.get('Content-Type')).toBe('application/problem+json');
  const body = (await res.json()) as { status: number; code: string };
  expect({ status: res.status, code: body.code }).toEqual({ status, code });
  expect(body.status).toBe(status);
  return body;
}
