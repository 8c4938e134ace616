// Refresh chains: each session is a chain of refresh tokens, rotated by the refresh rows and
// checked at the end (bench/README.md, "Refresh chains").
import { RESTARTED, devRestarts } from './dev-restarts.mjs';
import { log } from './log.mjs';
import { pool } from './pool.mjs';
import { post } from './post.mjs';

/** One chain per session, starting at its first refresh token. */
export function newChains(sessions) {
  return sessions.map((s, i) => ({
    id: i,
    token: s.refresh_token,
    rotations: 0,
    retried: 0,
    inFlight: false,
    broken: null,
  }));
}

/**
 * autocannon's setupClient for `connections` connections: each owns a disjoint subset of the
 * chains and rotates them in turn, sending each chain's latest refresh token and keeping the
 * successor it gets back. A chain is broken by any answer but 200.
 */
export function chainClients(chains) {
  return (connections) => {
    let index = 0;
    return (client) => {
      const mine = chains.filter((_, i) => i % connections === index % connections);
      index++;
      let turn = 0;
      let current = null;
      client.setRequests([
        {
          method: 'POST',
          path: '/auth/refresh',
          headers: { 'content-type': 'application/json' },
          setupRequest(req) {
            const live = mine.filter((c) => !c.broken && !c.inFlight);
            current = live.length ? live[turn++ % live.length] : mine[0];
            current.inFlight = true;
            return { ...req, body: JSON.stringify({ refresh_token: current.token }) };
          },
          onResponse(status, body) {
            const chain = current;
            current = null;
            if (!chain) return;
            chain.inFlight = false;
            if (status === 200) {
              chain.token = JSON.parse(body).refresh_token;
              chain.rotations++;
            } else if (status === 503 && RESTARTED.test(body)) {
              // Not the worker's answer: the next turn presents the same token again.
              devRestarts.hits++;
            } else {
              chain.broken ??= { status, body: String(body).slice(0, 200) };
            }
          },
        },
      ]);
    };
  };
}

/**
 * A slice ends with requests in flight: their responses (maybe a rotation) never arrive. Like a
 * client after a lost response, present the same token again at once: within the grace window
 * it gets the same successor back, so the chain goes on. Counted, not hidden.
 */
export async function recoverChains(base, chains) {
  const cut = chains.filter((c) => c.inFlight);
  await Promise.all(
    cut.map(async (chain) => {
      chain.inFlight = false;
      chain.retried++;
      const res = await post(base, '/auth/refresh', { refresh_token: chain.token });
      if (res.status === 200) chain.token = res.body.refresh_token;
      else chain.broken ??= { status: res.status, body: JSON.stringify(res.body).slice(0, 200) };
    }),
  );
}

/** Every chain must still rotate once more; the report of all chains. */
export async function checkChains(base, chains) {
  const finalCheck = await pool(chains, 2, async (chain) => {
    if (chain.broken) return false;
    const res = await post(base, '/auth/refresh', { refresh_token: chain.token });
    if (res.status !== 200) {
      chain.broken = { status: res.status, body: JSON.stringify(res.body).slice(0, 200) };
      return false;
    }
    chain.token = res.body.refresh_token;
    return true;
  });
  const report = {
    chains: chains.length,
    broken: finalCheck.filter((ok) => !ok).length,
    rotations: chains.reduce((a, c) => a + c.rotations, 0),
    retriedAfterSliceEnd: chains.reduce((a, c) => a + c.retried, 0),
    failures: chains.filter((c) => c.broken).map((c) => ({ chain: c.id, ...c.broken })),
  };
  log(`refresh chains: ${report.broken}/${report.chains} broken, ${report.rotations} rotations`);
  return report;
}
