// The compute planner: a pure library (no I/O, no clock) used by the CLI, the API and the dashboard.
export * from './gpu-catalog.ts';
export * from './video-models.ts';
export * from './text-models.ts';
export * from './video-cost.ts';
export * from './text-cost.ts';
export * from './train-cost.ts';
export * from './compare.ts';
export * from './sweep.ts';
export * from './custom-model.ts';
export * from './published-figures.ts';
export * from './span-work.ts';
export * from './span.ts';
export * from './span-topology.ts';
export * from './span-figures.ts';
