/**
 * Test-side probes of a GPIO line from outside the process under test:
 * its line info, and its level once it is free (requested as an input: on
 * the BCM2835 the level register keeps what was last driven).
 *
 * @module
 */
import { findChip, readLineInfo } from "../../../hal/gpio/chip.ts";
import { closeFd, ioctl, O_RDWR, openFd } from "../../../hal/gpio/libc.ts";
import {
  decodeLineValue,
  encodeInputRequest,
  encodeLineValues,
  GPIO_V2_GET_LINE_IOCTL,
  GPIO_V2_LINE_GET_VALUES_IOCTL,
  type LineInfo,
  requestFd,
} from "../../../hal/gpio/uapi.ts";

/** Line info of `offset` on the Pi's pin controller. */
export function lineInfo(offset: number): LineInfo {
  const chip = findChip(undefined, "probe");
  const fd = openFd(chip.path, O_RDWR);
  try {
    return readLineInfo(fd, offset);
  } finally {
    closeFd(fd);
  }
}

/** Requests `offset` as an input, reads its level, releases it. Throws when busy. */
export function readFreeLine(offset: number): boolean {
  const chip = findChip(undefined, "probe");
  const fd = openFd(chip.path, O_RDWR);
  try {
    const req = encodeInputRequest(offset, "ledctl-probe");
    ioctl(fd, GPIO_V2_GET_LINE_IOCTL, req, "GPIO_V2_GET_LINE_IOCTL");
    const line = requestFd(req);
    try {
      const values = encodeLineValues(false);
      ioctl(line, GPIO_V2_LINE_GET_VALUES_IOCTL, values, "GPIO_V2_LINE_GET_VALUES_IOCTL");
      return decodeLineValue(values);
    } finally {
      closeFd(line);
    }
  } finally {
    closeFd(fd);
  }
}

/**
 * Samples `read` every `everyMs` for `forMs` and returns the number of level
 * changes and the levels seen.
 */
export async function sampleEdges(
  read: () => boolean,
  forMs: number,
  everyMs = 5,
): Promise<{ edges: number; seen: Set<boolean>; samples: number }> {
  const seen = new Set<boolean>();
  let last = read();
  seen.add(last);
  let edges = 0;
  let samples = 1;
  const end = performance.now() + forMs;
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, everyMs));
    const v = read();
    samples++;
    seen.add(v);
    if (v !== last) edges++;
    last = v;
  }
  return { edges, seen, samples };
}
