import type { JobState } from '../api/types.ts';

/**
 * Every job state in lifecycle order. Keyed by JobState (the server's enum), so
 * tsc fails here when the server adds a state the dashboard does not know.
 */
const LIFECYCLE_ORDER: Readonly<Record<JobState, number>> = { pending: 0, placed: 1, running: 2, preempted: 3, succeeded: 4, failed: 5, cancelled: 6 };

export const JOB_STATES = (Object.keys(LIFECYCLE_ORDER) as JobState[]).sort((a, b) => LIFECYCLE_ORDER[a] - LIFECYCLE_ORDER[b]);

/** States a job never leaves; every other state can still be cancelled (the cancel route's list). */
export const FINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export const ACTIVE_STATES: readonly JobState[] = JOB_STATES.filter((s) => !FINAL_STATES.includes(s));

export const isFinal = (state: JobState): boolean => FINAL_STATES.includes(state);

export function isJobState(value: string): value is JobState {
  return Object.hasOwn(LIFECYCLE_ORDER, value);
}
