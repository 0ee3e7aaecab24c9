// Trace readers for the simulator: a real cluster trace's text in, jobs out.
// Pure: the CLI reads the file and passes its text.
export { detectFormat } from './detect-format.ts';
export { parseTrace } from './parse-trace.ts';
export { TRACE_FORMATS, type ParseOptions, type Trace, type TraceFormat, type TraceRowError } from './trace.ts';
