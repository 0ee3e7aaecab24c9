import { GAVEL } from './gavel.ts';
import { GENERIC } from './generic.ts';
import { HELIOS } from './helios.ts';
import { OPENB } from './openb.ts';
import { PAI } from './pai.ts';
import { PHILLY_JSON } from './philly-json.ts';
import { PHILLY_POLLUX } from './philly-pollux.ts';
import type { TraceReader } from './reader.ts';
import type { TraceFormat } from './trace.ts';

/** The reader of each format: the one list to extend with a new format. */
export const READERS = {
  generic: GENERIC,
  'philly-pollux': PHILLY_POLLUX,
  'philly-json': PHILLY_JSON,
  helios: HELIOS,
  pai: PAI,
  openb: OPENB,
  gavel: GAVEL,
} as const satisfies Record<TraceFormat, TraceReader>;
