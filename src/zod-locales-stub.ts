// Stands in for zod's `locales/index.js` (wrangler.toml [alias]): no translated error messages,
// 38 KiB less gzip. zod imports its English messages directly, not through this module.
export {};
