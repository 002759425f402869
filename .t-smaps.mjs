import v8 from 'node:v8'; if (process.env.SEMI) v8.setFlagsFromString('--max-semi-space-size=1');
import { readFileSync } from 'node:fs';
const { main } = await import('./dist/cli.js');
await main(['classify', 'app/samples/bag.png', '--model', '/tmp/r50.onnx', '--top', '1']);
globalThis.gc?.(); const m = process.memoryUsage();
const mb = (x) => (x / 2 ** 20).toFixed(1);
console.log('rss', mb(m.rss), 'heapTotal', mb(m.heapTotal), 'heapUsed', mb(m.heapUsed), 'external', mb(m.external), 'ab', mb(m.arrayBuffers), 'maxRSS', mb(process.resourceUsage().maxRSS * 1024));
const groups = new Map();
let name = '';
for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
  const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
  if (head) { name = head[1] || '[anon]'; continue; }
  const r = /^Rss:\s+(\d+) kB/.exec(line);
  if (r) groups.set(name, (groups.get(name) ?? 0) + Number(r[1]));
}
for (const [k, v] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log((v / 1024).toFixed(1).padStart(7), k);
process.exit(0);
