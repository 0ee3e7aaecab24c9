// Planner throughput (the API and dashboard call it per request) and CLI start-up.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { findGpu, findTextModel, findVideoModel, planCompare, planSweep, planTrain, planVideo } from '../src/plan/index.ts';
import { milliseconds, opsPerSecond, report } from './harness.ts';

export function benchPlanner(): void {
  const model = findVideoModel('wan2.1-t2v-14b');
  const gpu = findGpu('h100');
  const base = { model, gpu, width: 1280, height: 720, seconds: 5, fps: 16, steps: 50, gpus: 8 } as const;
  const points = [4, 6, 60, 600, 3600].map((s) => ({ label: String(s), value: s, change: { seconds: s } }));
  const bin = join(import.meta.dirname, '..', 'bin', 'suanli.js');
  report('planner', [
    opsPerSecond('planVideo (wan2.1-t2v-14b, 1280x720, 5 s, 8 GPUs)', () => planVideo(base)),
    opsPerSecond('planSweep (5 durations × full/window)', () => planSweep(base, 'seconds', points, 5)),
    opsPerSecond('planTrain (2-bucket mix, 1024 GPUs)', () => planTrain({ model, gpu, gpus: 1024, fps: 16, epochs: 1, mix: [{ width: 1280, height: 720, seconds: 5, clips: 1e7 }, { width: 832, height: 480, seconds: 5, clips: 5e7 }] })),
    opsPerSecond('planCompare (100k zh chars vs 640x480 5 s)', () => planCompare({ textModel: findTextModel('qwen2.5-72b'), characters: 100_000, language: 'zh', videoModel: findVideoModel('wan2.1-t2v-1.3b'), width: 640, height: 480, seconds: 5, fps: 16, steps: 50, gpu })),
    milliseconds('CLI: suanli plan video --json (process start to exit)', () => execFileSync(process.execPath, [bin, 'plan', 'video', '--json'], { stdio: 'ignore' })),
    milliseconds('CLI: suanli plan sweep with SVG chart', () => execFileSync(process.execPath, [bin, 'plan', 'sweep', '--chart', join(import.meta.dirname, 'results', 'sweep.svg')], { stdio: 'ignore' })),
  ]);
}
