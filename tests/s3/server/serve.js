'use strict';
// The S3-compatible server of redsink's S3 client tests (started by scripts/with-s3):
// @20minutes/s3rver, which checks SigV4 header signatures, on 127.0.0.1 only, with one fixed
// test key pair, the test bucket created at start, and one JSON line per request in a log that
// the tests read (method, URL, status, the x-amz-content-sha256 value, a session token's SHA-256,
// the access key id that signed, when the request came and ended in ms since the Unix epoch, as
// the tests' own clock counts).
// Two markers in a PUT's URL make faults for the tests of parts uploaded at once: "slow-put" holds
// the request 150 ms before it is handled; "refuse-part-3" answers the key's part 3 (-p000003)
// with 403 AccessDenied, storing nothing. More key pairs, for the tests of credentials that rotate:
// --more-keys "K1:S1,K2:S2" (optional).
//   node serve.js --directory D --port N|0 --port-file F --bucket B --access-key K --secret-key S --request-log L
const crypto = require('crypto');
const { performance } = require('perf_hooks');
const fs = require('fs');
// s3rver escapes XML text twice (with he.escape, then again in its XML builder), so a listing
// would show the key "a & b" as "a &amp;amp; b". S3 escapes once: let the builder do it alone.
require('he').escape = (text) => text;
const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  if (!process.argv[i].startsWith('--') || i + 1 >= process.argv.length) {
    console.error(`serve.js: bad argument ${process.argv[i]}`);
    process.exit(2);
  }
  args[process.argv[i].slice(2)] = process.argv[i + 1];
}
for (const name of ['directory', 'port', 'port-file', 'bucket', 'access-key', 'secret-key', 'request-log']) {
  if (!(name in args)) {
    console.error(`serve.js: --${name} is missing`);
    process.exit(2);
  }
}

// Only the test key pairs sign: the server's built-in one is revoked.
AWSAccount.DUMMY_ACCOUNT.createKeyPair(args['access-key'], args['secret-key']);
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
for (const pair of (args['more-keys'] || '').split(',').filter(Boolean)) {
  const colon = pair.indexOf(':');
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(pair.slice(0, colon), pair.slice(colon + 1));
}

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(args.port),
  directory: args.directory,
  silent: true,
  vhostBuckets: false,
  configureBuckets: [{ name: args.bucket, configs: [] }],
});

server.middleware.unshift(async (ctx, next) => {
  const token = ctx.get('x-amz-security-token');
  const entry = {
    method: ctx.method,
    url: ctx.url,
    sha256: ctx.get('x-amz-content-sha256'),
    token_sha256: token ? crypto.createHash('sha256').update(token).digest('hex') : '',
    access_key: (/Credential=([^/,\s]+)\//.exec(ctx.get('authorization')) || [])[1] || '',
    start_ms: performance.timeOrigin + performance.now(),
  };
  try {
    if (ctx.method === 'PUT' && ctx.url.includes('slow-put')) await new Promise((done) => setTimeout(done, 150));
    if (ctx.method === 'PUT' && ctx.url.includes('refuse-part-3') && ctx.url.includes('-p000003')) {
      ctx.status = 403;
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>' +
        '<Message>Access Denied</Message><RequestId>refused-by-test</RequestId></Error>';
      entry.status = 403;
      entry.code = 'AccessDenied';
      return;
    }
    await next();
    entry.status = ctx.status;
  } catch (err) {
    entry.status = err.status || 500;
    entry.code = err.code;
    throw err;
  } finally {
    entry.end_ms = performance.timeOrigin + performance.now();
    fs.appendFileSync(args['request-log'], JSON.stringify(entry) + '\n');
  }
});

server.run().then(
  ({ port }) => {
    fs.writeFileSync(args['port-file'] + '.tmp', String(port));
    fs.renameSync(args['port-file'] + '.tmp', args['port-file']);
  },
  (err) => {
    console.error(`serve.js: ${err.message}`);
    process.exit(1);
  },
);
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
