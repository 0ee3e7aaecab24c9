// `npm run bench`: every benchmark suite; tables on stdout, JSON under bench/results/.
import { benchPlanner } from './planner.bench.ts';

benchPlanner();
