// The `resnet` command straight from the TypeScript sources, without `npm run build`:
//   node --import tsx src/cli/from-source.ts train --model resnet20 --out DIR ...
import { main } from './main';

process.exitCode = await main(process.argv.slice(2));
