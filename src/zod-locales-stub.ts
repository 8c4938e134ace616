// Stands in for zod's `locales/index.js` in the production bundle (wrangler.toml
// [env.production.alias]): no translated error messages. zod's English messages are imported
// by zod directly, not through this module, so every message stays as tests see it.
export {};
