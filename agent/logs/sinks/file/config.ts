import { f, type Infer } from "../../../config/schema.js";

const MIB = 1024 * 1024;

/** logs.sink.file */
export const fileSinkSchema = {
  path: f.string("", "Output file of the file sink (required for sink.type file)."),
  maxBytes: f.int(100 * MIB, "Rotate the output file at this size (path -> path.1 -> ...).", { min: 1024 }),
  maxFiles: f.int(5, "Rotated output files kept besides the current one.", { min: 1 }),
};

export type FileSinkConfig = Infer<typeof fileSinkSchema>;
