import assert from "node:assert/strict";
import { checkOrigin, isAllowedHost } from "./origin.ts";

Deno.test("host names that cannot be DNS-rebound are allowed, public names are not", () => {
  for (
    const host of [
      "127.0.0.1:8080",
      "192.168.1.20",
      "[::1]:8080",
      "localhost:8080",
      "raspberrypi:8080",
      "raspberrypi.local",
      "pi.lan",
      "pi.home.arpa",
      "LOCALHOST",
    ]
  ) assert.ok(isAllowedHost(host), host);
  for (const host of ["evil.example", "127.0.0.1.nip.io:8080", "", "a b", "x.com."]) {
    assert.ok(!isAllowedHost(host), host);
  }
  assert.ok(isAllowedHost("led.example.org:8080", ["led.example.org"]));
});

function post(headers: Record<string, string>) {
  return new Request("http://127.0.0.1:8080/api/led", { method: "POST", headers });
}

Deno.test("same-origin and header-less requests pass; cross-site ones do not", () => {
  assert.ok(checkOrigin(post({})).ok);
  assert.ok(checkOrigin(post({ "sec-fetch-site": "same-origin" })).ok);
  assert.ok(checkOrigin(post({ "sec-fetch-site": "none" })).ok);
  assert.ok(checkOrigin(post({ origin: "http://127.0.0.1:8080" })).ok);
  for (
    const h of [
      { origin: "http://127.0.0.1:9999" },
      { origin: "null" },
      { origin: "not a url" },
      { "sec-fetch-site": "same-site" },
      { "sec-fetch-site": "cross-site", origin: "http://127.0.0.1:8080" },
    ]
  ) {
    const v = checkOrigin(post(h as Record<string, string>));
    assert.equal(v.ok, false, JSON.stringify(h));
    assert.match((v as { reason: string }).reason, /cross-origin request refused/);
  }
});
