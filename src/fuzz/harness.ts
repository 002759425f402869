// The model fuzzer's driver: seeded mutants of a base model (src/onnx/fuzz.ts), each judged on every engine
// (src/fuzz/judge.ts) in a worker thread, with a per-case timeout and a bound on the process's memory
// growth; a case that exceeds either is a finding and the worker is replaced. Used by
// src/onnx/fuzz.test.ts (a few hundred cases in `npm test`) and scripts/fuzz-models.ts (thousands).
import { Worker } from 'node:worker_threads';
import { caseSeed } from '../onnx/fuzz';
import { explain } from './exceptions';
import type { Judged } from './judge';
import type { CaseRequest, CaseResponse } from './protocol';

export interface FuzzConfig {
  readonly base: Uint8Array;
  readonly seed: number;
  readonly cases: number;
  /** First case index (to resume or reproduce a range). */
  readonly first?: number;
  /** A case taking longer than this is a hang (default 60 s). */
  readonly timeoutMs?: number;
  /** The process's resident memory growing more than this during a case is a finding (default 3 GiB). */
  readonly memoryLimitBytes?: number;
  /** Restrict mutators by name (see MUTATORS). */
  readonly only?: readonly string[];
}

export type Outcome =
  | 'refused'          // every engine refused cleanly, and ORT on its own refuses too
  | 'refused-known'    // every engine refused cleanly (our compiler); ORT alone runs it, for a known reason
  | 'agreed'           // every engine ran it and agreed
  | 'not-run'          // accepted by all, over the fuzzer's compute budget
  | 'known'            // a disagreement a known exception explains
  | 'finding';         // anything else: unexplained disagreement, internal error, hang, memory, crash

export interface CaseReport {
  readonly index: number;
  readonly seed: number;
  readonly mutations: readonly string[];
  readonly outcome: Outcome;
  /** For findings and known exceptions: what kind (e.g. 'disagree:values', 'internal', 'hang'). */
  readonly kind: string;
  /** One line: the exception's id, or the finding's detail. */
  readonly detail: string;
  readonly ms: number;
  readonly judged?: Judged;
}

export interface FuzzSummary {
  readonly cases: number;
  readonly seconds: number;
  readonly counts: Readonly<Record<Outcome, number>>;
  /** 'refused'-stage breakdown: what refused it (our reader/compiler, ORT). */
  readonly refusedBy: Readonly<Record<string, number>>;
  /** Known exceptions by id: refusals ORT runs, and disagreements; then findings by kind. */
  readonly knownRefusals: Readonly<Record<string, number>>;
  readonly known: Readonly<Record<string, number>>;
  readonly findingKinds: Readonly<Record<string, number>>;
  readonly findings: readonly CaseReport[];
  readonly peakRssGrowthBytes: number;
}

function spawnWorker(base: Uint8Array): Worker {
  const url = new URL('./worker.ts', import.meta.url);
  const opts = { workerData: { base }, resourceLimits: { maxOldGenerationSizeMb: 2048 } };
  if (!/\.m?ts$/.test(url.pathname)) return new Worker(url, opts);
  // From source: register tsx's loader in the worker first (Node does not pass it on).
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...opts, eval: true });
}

/** Which part refused a model every engine refused (for the summary). */
function refuser(j: Judged): string {
  if (j.verdict.kind !== 'refused') return '';
  const ts = j.results.ts;
  if (ts.kind === 'refused' && ts.error === 'OnnxError') return 'reader (OnnxError)';
  if (ts.kind === 'refused' && ts.stage === 'load') return 'compiler (ModelError)';
  return `${ts.kind === 'refused' ? ts.error : ts.kind} at ${ts.kind === 'refused' ? ts.stage : 'run'}`;
}

function classify(j: Judged): { outcome: Outcome; kind: string; detail: string } {
  const v = j.verdict;
  switch (v.kind) {
    case 'agreed':
      return { outcome: 'agreed', kind: 'agreed', detail: '' };
    case 'not-run':
      return { outcome: 'not-run', kind: 'not-run', detail: `${v.macs} multiply-adds` };
    case 'refused': {
      if (v.ortOwn.kind === 'refused') return { outcome: 'refused', kind: 'refused', detail: v.message };
      const known = explain(j);
      if (known) return { outcome: 'refused-known', kind: known.id, detail: v.message };
      return { outcome: 'finding', kind: 'disagree:ours-refuse-ort-runs', detail: v.message };
    }
    case 'disagree': {
      const known = explain(j);
      if (known) return { outcome: 'known', kind: known.id, detail: v.detail };
      return { outcome: 'finding', kind: `disagree:${v.what}`, detail: v.detail };
    }
    case 'internal': {
      const detail = `${v.engine}: ${v.error}: ${v.message.split('\n')[0]}`;
      const known = explain(j);
      if (known) return { outcome: 'known', kind: known.id, detail };
      return { outcome: 'finding', kind: 'internal', detail };
    }
  }
}

const count = (r: Record<string, number>, k: string): void => {
  r[k] = (r[k] ?? 0) + 1;
};

export async function runFuzz(cfg: FuzzConfig, onCase?: (c: CaseReport) => void): Promise<FuzzSummary> {
  const timeoutMs = cfg.timeoutMs ?? 60_000;
  const memoryLimit = cfg.memoryLimitBytes ?? 3 * 2 ** 30;
  const first = cfg.first ?? 0;
  const t0 = performance.now();
  const counts: Record<Outcome, number> = { refused: 0, 'refused-known': 0, agreed: 0, 'not-run': 0, known: 0, finding: 0 };
  const refusedBy: Record<string, number> = {};
  const known: Record<string, number> = {};
  const knownRefusals: Record<string, number> = {};
  const findingKinds: Record<string, number> = {};
  const findings: CaseReport[] = [];
  let peak = 0;

  let worker: Worker | undefined;
  let baseline = 0;
  const start = async (): Promise<Worker> => {
    const w = spawnWorker(cfg.base);
    await new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    });
    baseline = process.memoryUsage().rss;
    return w;
  };

  try {
    for (let index = first; index < first + cfg.cases; index++) {
      worker ??= await start();
      const w = worker;
      const seed = caseSeed(cfg.seed, index);
      const c0 = performance.now();
      const req: CaseRequest = { index, seed, ...(cfg.only && { only: cfg.only }) };
      let caseBase = process.memoryUsage().rss;
      if (caseBase < baseline) baseline = caseBase;
      caseBase = Math.max(caseBase, baseline);
      const res = await new Promise<CaseResponse | { failure: 'hang' | 'memory' | 'crash'; detail: string }>((resolve) => {
        const done = (v: CaseResponse | { failure: 'hang' | 'memory' | 'crash'; detail: string }): void => {
          clearTimeout(timer);
          clearInterval(poll);
          w.off('message', onMessage);
          w.off('error', onError);
          w.off('exit', onExit);
          resolve(v);
        };
        const onMessage = (m: CaseResponse): void => done(m);
        const onError = (e: Error): void => done({ failure: 'crash', detail: `worker error: ${e.message.split('\n')[0]}` });
        const onExit = (code: number): void => done({ failure: 'crash', detail: `worker exited with code ${code}` });
        const timer = setTimeout(() => done({ failure: 'hang', detail: `no verdict after ${timeoutMs} ms` }), timeoutMs);
        const poll = setInterval(() => {
          const growth = process.memoryUsage().rss - caseBase;
          peak = Math.max(peak, growth);
          if (growth > memoryLimit) done({ failure: 'memory', detail: `resident memory grew by ${(growth / 2 ** 20).toFixed(0)} MiB (limit ${(memoryLimit / 2 ** 20).toFixed(0)} MiB)` });
        }, 50);
        w.on('message', onMessage);
        w.on('error', onError);
        w.on('exit', onExit);
        w.postMessage(req);
      });
      peak = Math.max(peak, process.memoryUsage().rss - caseBase);
      const ms = performance.now() - c0;
      let report: CaseReport;
      if ('failure' in res) {
        await w.terminate().catch(() => {});
        worker = undefined;
        report = { index, seed, mutations: [], outcome: 'finding', kind: res.failure, detail: res.detail, ms };
      } else if (res.crash !== undefined || !res.judged) {
        report = { index, seed, mutations: res.mutations, outcome: 'finding', kind: 'harness', detail: res.crash ?? 'no verdict', ms };
      } else {
        const c = classify(res.judged);
        report = { index, seed, mutations: res.mutations, ...c, ms, judged: res.judged };
        if (c.outcome === 'refused' || c.outcome === 'refused-known') count(refusedBy, refuser(res.judged));
      }
      counts[report.outcome]++;
      if (report.outcome === 'known') count(known, report.kind);
      if (report.outcome === 'refused-known') count(knownRefusals, report.kind);
      if (report.outcome === 'finding') {
        count(findingKinds, report.kind);
        findings.push(report);
      }
      onCase?.(report);
    }
  } finally {
    await worker?.terminate().catch(() => {});
  }
  return {
    cases: cfg.cases, seconds: (performance.now() - t0) / 1000, counts, refusedBy, knownRefusals, known, findingKinds, findings,
    peakRssGrowthBytes: peak,
  };
}

/** The summary as the lines scripts/fuzz-models.ts prints (and README quotes). */
export function formatSummary(s: FuzzSummary): string[] {
  const pct = (n: number): string => `${((100 * n) / Math.max(1, s.cases)).toFixed(1)}%`;
  const sorted = (r: Readonly<Record<string, number>>): string => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
  const c = s.counts;
  const lines = [
    `cases: ${s.cases} in ${s.seconds.toFixed(0)} s, peak memory growth ${(s.peakRssGrowthBytes / 2 ** 20).toFixed(0)} MiB`,
    `refused cleanly by every engine: ${c.refused + c['refused-known']} (${pct(c.refused + c['refused-known'])}): ${sorted(s.refusedBy)}`,
    `  ORT on its own refuses ${c.refused} of them too, and runs ${c['refused-known']}${c['refused-known'] ? `, each for a known reason: ${sorted(s.knownRefusals)}` : ''}`,
    `ran on every engine and agreed: ${c.agreed} (${pct(c.agreed)})`,
    `accepted by every engine, over the fuzzer's compute budget, not run: ${c['not-run']}`,
    `disagreements explained by known exceptions: ${c.known}${c.known ? ` (${sorted(s.known)})` : ''}`,
    `findings: ${c.finding}${c.finding ? ` (${sorted(s.findingKinds)})` : ''}`,
  ];
  for (const f of s.findings.slice(0, 50)) lines.push(`  case ${f.index} (seed ${f.seed}) ${f.kind}: ${f.mutations.join(' + ')} => ${f.detail}`);
  if (s.findings.length > 50) lines.push(`  ... and ${s.findings.length - 50} more`);
  return lines;
}
