/**
 * npm run docs:chart — regenerates chart/values.schema.json (test/chart/values-schema.ts) and the
 * values table of chart/README.md (test/chart/values-doc.ts). test/chart/docs.test.ts fails when
 * either file differs from what this would write.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { valuesSchemaText } from "./values-schema.js";
import { readText, readmeWithTable } from "./values-doc.js";

const chart = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../chart");
writeFileSync(path.join(chart, "values.schema.json"), valuesSchemaText());
const readme = path.join(chart, "README.md");
writeFileSync(readme, readmeWithTable(readText(readme), readText(path.join(chart, "values.yaml"))));
process.stdout.write("wrote chart/values.schema.json and the values table of chart/README.md\n");
