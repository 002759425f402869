#!/usr/bin/env node
// `resnet` CLI: the bundled dist/cli.js (built by `npm run build`, which `npm install` runs).
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0); // output piped into head & co.
  throw e;
});
const { main } = await import('../dist/cli.js');
process.exitCode = await main(process.argv.slice(2));
