// The executors' public face for the agent. The Kubernetes executor is not
// re-exported here: importing @kubernetes/client-node takes seconds, so the agent
// imports './kubernetes.ts' only when a site uses Kubernetes.
export * from './types.ts';
export { ExecutorError, isExecutorError, EXECUTOR_ERROR_CODES, type ExecutorErrorCode } from './errors.ts';
export { LocalExecutor, type LocalExecutorOptions } from './local.ts';
export { SlurmExecutor, type SlurmExecutorOptions } from './slurm.ts';
export { scontrolToken, type SlurmRestOptions } from './slurm-rest.ts';
export { gpuTypeFromName } from './capacity.ts';
