export { FilterChain, type FilterChainDeps } from "./chain.js";
export type { LogFilter, FilterContext } from "./filter.js";
export { compileMatch } from "./match.js";
export { FilterCounts, FilterMetrics } from "./metrics.js";
export { filterVariants, matchSection, type FilterConfig, type FilterType, type MatchConfig } from "./schema.js";
export { normalizeSeverity, severityNameOf, severityOf, SEVERITY_NAMES, SEVERITY_NUMBERS, type SeverityName } from "./severity.js";
export { parseTimeValue } from "./time-value.js";
export { parseLogfmt } from "./logfmt.js";
