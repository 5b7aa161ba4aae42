import { describe, expect, it } from "vitest";
import { authHeaders } from "../../../agent/logs/sinks/http-client/auth.js";

describe("authHeaders", () => {
  const none = { username: "", password: "", bearerToken: "" };

  it("builds Basic, Bearer and ApiKey headers, values from env: and file: too", () => {
    process.env.NODETAP_TEST_ES_PASSWORD = "p@ss";
    expect(authHeaders("k", { ...none, username: "u", password: "env:NODETAP_TEST_ES_PASSWORD" })).toEqual({
      authorization: `Basic ${Buffer.from("u:p@ss").toString("base64")}`,
    });
    expect(authHeaders("k", { ...none, bearerToken: "t0k" })).toEqual({ authorization: "Bearer t0k" });
    expect(authHeaders("k", { ...none, apiKey: "aWQ6a2V5" })).toEqual({ authorization: "ApiKey aWQ6a2V5" });
    expect(authHeaders("k", none)).toEqual({});
  });

  it("refuses two kinds at once, a password without user, and unset variables (naming the key, not the value)", () => {
    expect(() => authHeaders("logs.sink.elasticsearch", { ...none, username: "u", apiKey: "x" })).toThrow(
      /logs.sink.elasticsearch.auth: set only one/,
    );
    expect(() => authHeaders("k", { ...none, password: "p" })).toThrow(/k.auth.username: is required/);
    expect(() => authHeaders("k", { ...none, bearerToken: "env:NODETAP_TEST_UNSET_VAR" })).toThrow(
      /k.auth.bearerToken: environment variable NODETAP_TEST_UNSET_VAR is not set/,
    );
  });
});
