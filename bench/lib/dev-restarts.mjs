// wrangler dev restarts the worker when a file it watches changes; its proxy then answers a
// non-GET request it cut with a 503 carrying this text. Such answers are not the worker's: they
// are counted (the report warns) and the request is sent again.
export const RESTARTED = /restarted mid-request/;

export const devRestarts = { hits: 0 };
