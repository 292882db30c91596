/// <reference lib="deno.worker" />
/**
 * A Worker that samples a GPIO line's level on its own thread and event
 * loop, so that a stalled event loop in the code under test (the software
 * blinker's timers) cannot stall the sampling with it. It sleeps with
 * `Atomics.wait`, not timers, and reads the level from outside the
 * blinker's code path: the kernel's debugfs listing and, when given the line
 * fd, `GPIO_V2_LINE_GET_VALUES_IOCTL` on it. Started by `sampleInWorker`
 * (probe.ts); not a test.
 *
 * @module
 */
import { ioctl } from "../../../hal/gpio/libc.ts";
import {
  decodeLineValue,
  encodeLineValues,
  GPIO_V2_LINE_GET_VALUES_IOCTL,
} from "../../../hal/gpio/uapi.ts";
import { debugfsLine } from "./debugfs.ts";
import type { SampleRequest, SampleTrack, WorkerReply } from "./probe.ts";

function track(read: () => boolean, label: string): {
  sample(t: number): void;
  done(): SampleTrack;
} {
  let last = read();
  const seen = new Set<boolean>([last]);
  const changes: number[] = [];
  return {
    sample(t: number) {
      const v = read();
      seen.add(v);
      if (v !== last) changes.push(t);
      last = v;
    },
    done: () => ({ label, changes, seen: [...seen] }),
  };
}

self.onmessage = (e: MessageEvent<SampleRequest>) => {
  const req = e.data;
  try {
    const tracks = [
      track(() => debugfsLine(req.name, req.debugfsPath)?.high ?? false, "debugfs"),
    ];
    if (req.fd !== undefined) {
      const fd = req.fd;
      tracks.push(track(() => {
        const buf = encodeLineValues(false);
        ioctl(fd, GPIO_V2_LINE_GET_VALUES_IOCTL, buf, "GPIO_V2_LINE_GET_VALUES_IOCTL");
        return decodeLineValue(buf);
      }, "GET_VALUES"));
    }
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    const t0 = performance.now();
    let prev = t0;
    const gapsMs: number[] = [];
    for (;;) {
      Atomics.wait(sleeper, 0, 0, req.everyMs);
      const t = performance.now();
      if (t - t0 > req.forMs) break;
      for (const tr of tracks) tr.sample(t - t0);
      gapsMs.push(t - prev);
      prev = t;
    }
    const reply: WorkerReply = { ok: true, gapsMs, tracks: tracks.map((t) => t.done()) };
    self.postMessage(reply);
  } catch (err) {
    const reply: WorkerReply = { ok: false, error: String((err as Error)?.stack ?? err) };
    self.postMessage(reply);
  }
};
