#!/usr/bin/env node
// Copies Swagger UI's script and styles from the swagger-ui-dist package into public/, which
// wrangler serves as static assets: /docs works offline and loads nothing from a CDN.
// Runs on every `npm install` (postinstall); public/docs-assets is git-ignored.
import { copyFileSync, mkdirSync } from 'node:fs';

const from = new URL('../node_modules/swagger-ui-dist/', import.meta.url);
const to = new URL('../public/docs-assets/swagger-ui-dist/', import.meta.url);
mkdirSync(to, { recursive: true });
for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css', 'LICENSE']) {
  copyFileSync(new URL(file, from), new URL(file, to));
}
