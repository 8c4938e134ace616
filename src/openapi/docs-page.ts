// The page at /docs: Swagger UI (our own copy, under /docs-assets/: scripts/docs-assets.mjs)
// reading /openapi.json. A constant: the same page @hono/swagger-ui's middleware rendered on every
// request (test/openapi-docs-page.test.ts compares them), without its option renderer in the
// worker's bundle (1 KiB gzip). Its inline script is the one the Content-Security-Policy of
// /docs (src/index.ts) allows with 'unsafe-inline'.
export const docsPage = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="description" content="SwaggerUI" />
    <title>Edge auth worker API</title>
  </head>
  <body>
    <div>
      <div id="swagger-ui"></div>
      <link rel="stylesheet" href="/docs-assets/swagger-ui-dist/swagger-ui.css" />
      <script src="/docs-assets/swagger-ui-dist/swagger-ui-bundle.js" crossorigin="anonymous"></script>
      <script>
        window.onload = () => {
          window.ui = SwaggerUIBundle({
            dom_id: '#swagger-ui',
            url: '/openapi.json',
          })
        }
      </script>
    </div>
  </body>
</html>
`;
