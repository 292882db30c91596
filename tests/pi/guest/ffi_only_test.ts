/**
 * The backend needs only --allow-ffi: Deno's own file APIs would need
 * --allow-all for /dev and /proc, so this proves every access goes through libc.
 */
import { assertEquals } from "./assert.ts";

Deno.test("with only --allow-ffi, ledctl detects the Pi and drives a line", async () => {
  const script = new URL("./ffi_only.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--no-check", "--no-config", "--no-prompt", script],
    env: { NO_COLOR: "1" },
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), {
    pi: true,
    on: true,
    off: false,
    description: "gpio:/dev/gpiochip0 GPIO17 (BOARD11)",
  });
});
