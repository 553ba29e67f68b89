export type {
  CountMatchesOptions,
  CountResult,
  EndReason,
  ErrorRateComparison,
  FollowLogOptions,
  LogEvent,
  LogFollower,
  LogSource,
  LogStats,
  LogSummary,
  MinuteBucket,
} from './types';
export { parseLogSource, describeLogSource } from './source';
export { compileFilter, DEFAULT_FILTER, type LineMatcher } from './filter';
export { LineScanner, DEFAULT_MAX_LINE_BYTES, type ScanCounters, type LineScannerOptions } from './scanner';
export { LogStatsTracker, compareErrorRates, formatRate } from './stats';
export { countMatches } from './count';
export { followLog } from './follow';
