// Imported first by main.ts, so the single binary restarts with its runtime settings before the
// rest of the agent loads (see runtime-settings.ts).
import { applyRuntimeSettings } from "./runtime-settings.js";

applyRuntimeSettings();
