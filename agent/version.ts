/** nodetap's version; a test keeps it equal to package.json's. */
export const VERSION = "0.1.0";
/** Git revision, injected by the binary/image build (NODETAP_BUILD_REVISION at build time); "unknown" in development. */
export const REVISION = process.env.NODETAP_BUILD_REVISION_BAKED ?? "unknown";
