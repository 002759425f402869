// Which way imports may point (see ARCHITECTURE.md). `npm run lint` runs this with `depcruise`.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'Modules form layers: no import cycles, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'kernels-are-the-floor',
      comment: 'kernels/ sees typed arrays, shapes and attribute records, never a plan, a session, the app or a file: it imports nothing from src/ or app/.',
      severity: 'error',
      // The op tests, written once for every backend, and their helpers (kernels/testdata) call registerAll.
      from: { path: '^kernels/', pathNot: ['\\.test\\.ts$', '^kernels/testdata/'] },
      to: { path: '^(src|app)/' },
    },
    {
      name: 'core-is-the-bottom',
      comment: 'kernels/core (Tensor, attributes, shape rules) is the vocabulary everything shares: it imports no other project code.',
      severity: 'error',
      from: { path: '^kernels/core/' },
      to: { path: '^(kernels/(?!core/)|src/|app/)' },
    },
    {
      name: 'engine-below-its-users',
      comment: 'src/engine runs models; the CLI, the app, training and the benchmark sit on top of it, never under it.',
      severity: 'error',
      from: { path: '^src/engine/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(src/(cli|train|bench)|app)/' },
    },
    {
      name: 'renderer-has-no-node',
      comment: 'app/renderer runs in a sandboxed renderer and in any browser: no node: modules, directly or through what it imports.',
      severity: 'error',
      from: { path: '^app/renderer/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'renderer-reaches-no-node',
      comment: 'The same, through the modules the renderer imports (src/ code it shares must be pure).',
      severity: 'error',
      from: { path: '^app/renderer/' },
      // Core modules appear as their bare names ('fs', 'node:test' as 'test'): every name Node knows.
      to: { path: `^(${require('node:module').builtinModules.map((m) => m.replace(/[/.]/g, '\\$&')).join('|')})$`, reachable: true },
    },
    {
      name: 'app-trains-on-pure-modules',
      comment: 'The app trains with src/train\'s pure modules only (data in memory, the net, one net\'s training, metrics); files, checkpoints, Node worker threads and sharp stay with the CLI.',
      severity: 'error',
      from: { path: '^app/' },
      to: { path: '^src/train/', pathNot: '^src/train/(image-set|folder-layout|net-trainer|local-engine|net|backend|optim|metrics)\\.ts$' },
    },
    {
      name: 'src-not-in-app-or-e2e',
      comment: 'src/ is the library the CLI and the app share: it never imports the app or the e2e tests.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(app|e2e)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    // TypeScript 7 has no JavaScript API for dependency-cruiser: it parses .ts with swc (@swc/core).
    parser: 'swc',
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
