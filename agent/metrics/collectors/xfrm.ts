import { CollectorError, type CollectorDefinition } from "../collector.js";
import { readHostFile } from "../host-file.js";
import { counter, type MetricDesc } from "../model.js";
import { parseInt64 } from "../parsers/numbers.js";
import { goFields, goScanLines } from "../parsers/go-text.js";
import { quoteExcerpt } from "../parsers/text.js";

/**
 * node_exporter's xfrm collector (collector/xfrm.go with procfs's FS.NewXfrmStat): the IPsec
 * transformation error counters of /proc/net/xfrm_stat, one counter each. Every line must be
 * "<name> <integer>"; counters the file lacks are reported as 0 and lines procfs does not know
 * (newer kernels add some) are ignored. No series when the file does not exist.
 */

/** The kernel's counter names in node_exporter's emission order, with their family. */
const COUNTERS: ReadonlyArray<[name: string, desc: MetricDesc]> = [
  ["XfrmInError", "in_error_packets_total", "All errors not matched by other"],
  ["XfrmInBufferError", "in_buffer_error_packets_total", "No buffer is left"],
  ["XfrmInHdrError", "in_hdr_error_packets_total", "Header error"],
  ["XfrmInNoStates", "in_no_states_packets_total", "No state is found i.e. Either inbound SPI, address, or IPsec protocol at SA is wrong"],
  ["XfrmInStateProtoError", "in_state_proto_error_packets_total", "Transformation protocol specific error e.g. SA key is wrong"],
  ["XfrmInStateModeError", "in_state_mode_error_packets_total", "Transformation mode specific error"],
  ["XfrmInStateSeqError", "in_state_seq_error_packets_total", "Sequence error i.e. Sequence number is out of window"],
  ["XfrmInStateExpired", "in_state_expired_packets_total", "State is expired"],
  ["XfrmInStateMismatch", "in_state_mismatch_packets_total", "State has mismatch option e.g. UDP encapsulation type is mismatch"],
  ["XfrmInStateInvalid", "in_state_invalid_packets_total", "State is invalid"],
  [
    "XfrmInTmplMismatch",
    "in_tmpl_mismatch_packets_total",
    "No matching template for states e.g. Inbound SAs are correct but SP rule is wrong",
  ],
  ["XfrmInNoPols", "in_no_pols_packets_total", "No policy is found for states e.g. Inbound SAs are correct but no SP is found"],
  ["XfrmInPolBlock", "in_pol_block_packets_total", "Policy discards"],
  ["XfrmInPolError", "in_pol_error_packets_total", "Policy error"],
  ["XfrmOutError", "out_error_packets_total", "All errors which is not matched others"],
  ["XfrmOutBundleGenError", "out_bundle_gen_error_packets_total", "Bundle generation error"],
  ["XfrmOutBundleCheckError", "out_bundle_check_error_packets_total", "Bundle check error"],
  ["XfrmOutNoStates", "out_no_states_packets_total", "No state is found"],
  ["XfrmOutStateProtoError", "out_state_proto_error_packets_total", "Transformation protocol specific error"],
  ["XfrmOutStateModeError", "out_state_mode_error_packets_total", "Transformation mode specific error"],
  ["XfrmOutStateSeqError", "out_state_seq_error_packets_total", "Sequence error i.e. Sequence number overflow"],
  ["XfrmOutStateExpired", "out_state_expired_packets_total", "State is expired"],
  ["XfrmOutPolBlock", "out_pol_block_packets_total", "Policy discards"],
  ["XfrmOutPolDead", "out_pol_dead_packets_total", "Policy is dead"],
  ["XfrmOutPolError", "out_pol_error_packets_total", "Policy error"],
  ["XfrmFwdHdrError", "fwd_hdr_error_packets_total", "Forward routing of a packet is not allowed"],
  ["XfrmOutStateInvalid", "out_state_invalid_packets_total", "State is invalid, perhaps expired"],
  ["XfrmAcquireError", "acquire_error_packets_total", "State hasn\u2019t been fully acquired before use"],
].map(([name, suffix, help]) => [name, counter(`node_xfrm_${suffix}`, help)]);

/** The kernel names procfs reads. */
export const XFRM_COUNTER_NAMES: readonly string[] = COUNTERS.map(([name]) => name);
const KNOWN: ReadonlySet<string> = new Set(XFRM_COUNTER_NAMES);

/**
 * procfs's NewXfrmStat parsing: every line (a blank one too) must have exactly two fields, the
 * second parsed with strconv.Atoi; the known names are kept (the last of a repeated one wins).
 */
export function parseXfrmStat(text: string, file = "xfrm_stat"): Map<string, number> {
  const values = new Map<string, number>();
  const lines = goScanLines(text, file);
  for (let i = 0; i < lines.length; i++) {
    const fields = goFields(lines[i]);
    if (fields.length !== 2)
      throw new CollectorError(`${file}: line ${i + 1}: expected "<name> <value>", got ${quoteExcerpt(lines[i], 60)}`);
    const value = parseInt64(fields[1]);
    if (Number.isNaN(value))
      throw new CollectorError(`${file}: line ${i + 1}: ${fields[0]} value ${quoteExcerpt(fields[1], 60)} is not an integer`);
    if (KNOWN.has(fields[0])) values.set(fields[0], value);
  }
  return values;
}

export const collector: CollectorDefinition = {
  name: "xfrm",
  defaultEnabled: false,
  create({ paths }) {
    const file = paths.proc("net/xfrm_stat");
    return {
      name: "xfrm",
      update(out) {
        const text = readHostFile(file);
        if (text === undefined) return;
        const values = parseXfrmStat(text, file);
        for (const [name, desc] of COUNTERS) out.add(desc, values.get(name) ?? 0);
      },
    };
  },
};
