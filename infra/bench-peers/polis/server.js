// Ory Polis (npm @boxyhq/saml-jackson) as an inlet-bench peer: jackson on SQLite in
// --data-dir, one SCIM directory, and a plain node:http server that hands each request to
// directorySyncController.requests.handle() the way Polis' Next.js route
// pages/api/scim/v2.0/[...directory].ts does (same request object, same response).
// What Next.js itself adds (routing, middleware) is left out, so this is a lower bound on
// Polis' own cost per request.
//
//   node server.js --data-dir DIR [--port 0] [--tenant bench] [--product inlet-bench]
//
// Prints one line: `polis <SCIM base URL> <bearer token>`.

'use strict';

const http = require('node:http');
const path = require('node:path');
const fs = require('node:fs');
const { parseArgs } = require('node:util');
const jackson = require('@boxyhq/saml-jackson').default;

const ROUTE = '/api/scim/v2.0/';
// Next.js API routes refuse bodies over 1 MB by default.
const BODY_LIMIT = 1024 * 1024;

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'data-dir': { type: 'string' },
    tenant: { type: 'string', default: 'bench' },
    product: { type: 'string', default: 'inlet-bench' },
  },
});

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > BODY_LIMIT) {
        reject(new HttpError(413, 'Body exceeded 1mb limit'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// Next.js' default API body parser: JSON for application/json and application/ld+json
// (an empty body is {}), a decoded form for urlencoded, the raw string otherwise, which
// includes application/scim+json.
function nextParseBody(contentType, raw) {
  const type = (contentType || 'text/plain').split(';')[0].trim().toLowerCase();
  if (type === 'application/json' || type === 'application/ld+json') {
    if (raw.length === 0) return {};
    try {
      return JSON.parse(raw);
    } catch {
      throw new HttpError(400, 'Invalid JSON');
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  return raw;
}

// Polis' lib/utils.ts bodyParser: a string holding a JSON object or array is parsed.
function isJsonString(body) {
  try {
    return typeof JSON.parse(body) === 'object';
  } catch {
    return false;
  }
}
const bodyParser = (body) => (isJsonString(body) ? JSON.parse(body) : body);

// Polis' lib/auth.ts extractAuthToken: the second word of the Authorization header.
function extractAuthToken(req) {
  const parts = (req.headers.authorization || '').split(' ');
  return parts.length > 1 ? parts[1] : null;
}

// Next.js' req.query: a repeated key becomes an array.
function nextQuery(searchParams) {
  const query = {};
  for (const key of new Set(searchParams.keys())) {
    const all = searchParams.getAll(key);
    query[key] = all.length > 1 ? all : all[0];
  }
  return query;
}

function send(res, status, data) {
  const body = data === undefined ? '' : JSON.stringify(data);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

async function handle(directorySyncController, req, res) {
  const url = new URL(req.url, 'http://localhost');
  if (!url.pathname.startsWith(ROUTE) || url.pathname.length === ROUTE.length) {
    throw new HttpError(404, 'This page could not be found.');
  }
  const segments = url.pathname.slice(ROUTE.length).split('/').filter(Boolean).map(decodeURIComponent);
  const [directoryId, resourceType, resourceId] = segments;
  const query = nextQuery(url.searchParams);
  const body = bodyParser(nextParseBody(req.headers['content-type'], await readBody(req)));

  // The request object of pages/api/scim/v2.0/[...directory].ts, field by field.
  const request = {
    body,
    method: req.method,
    directoryId,
    resourceId,
    resourceType,
    apiSecret: extractAuthToken(req),
    query: {
      count: query.count ? parseInt(query.count) : undefined,
      startIndex: query.startIndex ? parseInt(query.startIndex) : undefined,
      filter: query.filter,
    },
  };
  const { status, data } = await directorySyncController.requests.handle(request);
  send(res, status, data);
}

async function main() {
  if (!args['data-dir']) throw new Error('--data-dir is required');
  fs.mkdirSync(args['data-dir'], { recursive: true });
  const server = http.createServer();
  await new Promise((resolve) => server.listen(Number(args.port), '127.0.0.1', resolve));
  const externalUrl = `http://127.0.0.1:${server.address().port}`;

  const quiet = () => {};
  const { directorySyncController } = await jackson({
    externalUrl,
    samlPath: '/api/oauth/saml',
    // Polis' DB_ENGINE=sql DB_TYPE=sqlite DB_URL=<file>; the rest at Polis' defaults
    // (page limit 50, no encryption key, schema synchronised on start).
    db: { engine: 'sql', type: 'sqlite', url: path.join(args['data-dir'], 'polis.sqlite') },
    noAnalytics: true,
    logger: { info: quiet, warn: (m) => console.error(m), error: (m, e) => console.error(m, e || '') },
  });
  const { data: directory, error } = await directorySyncController.directories.create({
    tenant: args.tenant,
    product: args.product,
    name: 'inlet-bench',
    type: 'generic-scim-v2',
  });
  if (error) throw new Error(`creating the directory: ${error.message}`);

  server.on('request', (req, res) => {
    handle(directorySyncController, req, res).catch((err) => {
      if (err instanceof HttpError) {
        // Next.js' sendError: the message as plain text.
        res.writeHead(err.status, { 'Content-Type': 'text/plain' });
        res.end(err.message);
        return;
      }
      // Next.js answers an exception in an API route with a bare 500.
      console.error(err);
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('Internal Server Error');
    });
  });
  console.log(`polis ${directory.scim.endpoint} ${directory.scim.secret}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
