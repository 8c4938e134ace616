// The session shards' targets (docs/sharding.md), judged on ratios within this run.

/**
 * A refresh of a shard-1 session waits for one round trip like a shard-0 one (its read of the
 * user runs beside the shard's batch), so it keeps pace; and refresh against the request floor
 * (issue 22: 0.09x a bare runtime, about 0.27x /health/live at this floor).
 */
export function shardTargets(rows, shardChains) {
  const shard1VsShard0 = rows.refreshShard1.rps / rows.refreshShard0.rps;
  return [
    {
      target: 'refresh, shard 1 >= 0.8x refresh, shard 0 throughput, 0 broken chains',
      measured: `${shard1VsShard0.toFixed(2)}x, ${shardChains.broken}/${shardChains.chains} broken`,
      met: shard1VsShard0 >= 0.8 && shardChains.broken === 0,
    },
    {
      target: 'login c=1, shard 1 p50 <= 1.2x login c=1, shard 0',
      measured: `${(rows.loginShard1.p50Ms / rows.loginShard0.p50Ms).toFixed(2)}x`,
      met: rows.loginShard1.p50Ms <= 1.2 * rows.loginShard0.p50Ms,
    },
  ];
}
