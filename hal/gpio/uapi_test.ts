import { deepStrictEqual, equal } from "node:assert/strict";
import {
  CHIP_INFO_SIZE,
  CONFIG_ATTR_SIZE,
  decodeChipInfo,
  decodeLineInfo,
  decodeLineValue,
  encodeInputRequest,
  encodeLineInfoQuery,
  encodeLineValues,
  encodeOutputRequest,
  GPIO_GET_CHIPINFO_IOCTL,
  GPIO_V2_GET_LINE_IOCTL,
  GPIO_V2_GET_LINEINFO_IOCTL,
  GPIO_V2_LINE_GET_VALUES_IOCTL,
  GPIO_V2_LINE_SET_VALUES_IOCTL,
  LINE_INFO_SIZE,
  LINE_REQUEST_SIZE,
  LINE_VALUES_SIZE,
  LineAttrId,
  LineFlag,
  LineInfoOffset,
  LineRequestOffset,
  requestFd,
} from "./uapi.ts";

Deno.test("ioctl numbers match <linux/gpio.h> as written in the design", () => {
  equal(GPIO_GET_CHIPINFO_IOCTL, 0x8044b401);
  equal(GPIO_V2_GET_LINEINFO_IOCTL, 0xc100b405);
  equal(GPIO_V2_GET_LINE_IOCTL, 0xc250b407);
  equal(GPIO_V2_LINE_GET_VALUES_IOCTL, 0xc010b40e);
  equal(GPIO_V2_LINE_SET_VALUES_IOCTL, 0xc010b40f);
});

Deno.test("struct sizes and offsets match the design", () => {
  equal(CHIP_INFO_SIZE, 68);
  equal(LINE_INFO_SIZE, 256);
  equal(LINE_REQUEST_SIZE, 592);
  equal(LINE_VALUES_SIZE, 16);
  equal(CONFIG_ATTR_SIZE, 24);
  deepStrictEqual({ ...LineRequestOffset }, {
    offsets: 0,
    consumer: 256,
    config: 288,
    configFlags: 288,
    configNumAttrs: 296,
    configAttrs: 320,
    numLines: 560,
    eventBufferSize: 564,
    fd: 588,
  });
  // config: flags u64, num_attrs u32, padding[5] u32, attrs[10] × 24 → 272 bytes, ending at num_lines.
  equal(LineRequestOffset.configAttrs + 10 * CONFIG_ATTR_SIZE, LineRequestOffset.numLines);
  equal(LineRequestOffset.fd + 4, LINE_REQUEST_SIZE);
  deepStrictEqual({ ...LineInfoOffset }, {
    name: 0,
    consumer: 32,
    offset: 64,
    numAttrs: 68,
    flags: 72,
    attrs: 80,
  });
  // line info: 10 attributes of 16 bytes, then padding[4] u32.
  equal(LineInfoOffset.attrs + 10 * 16 + 4 * 4, LINE_INFO_SIZE);
  equal(LineFlag.ACTIVE_LOW, 2n);
  equal(LineFlag.INPUT, 4n);
  equal(LineFlag.OUTPUT, 8n);
  equal(LineAttrId.OUTPUT_VALUES, 2);
});

/** The expected request, byte by byte, built without the module's helpers. */
function expectedRequest(offset: number, flags: number, initial: number): Uint8Array {
  const b = new Uint8Array(592);
  const le32 = (at: number, v: number) => {
    for (let i = 0; i < 4; i++) b[at + i] = (v >>> (8 * i)) & 0xff;
  };
  le32(0, offset);
  b.set([0x6c, 0x65, 0x64, 0x63, 0x74, 0x6c], 256); // "ledctl", NUL-padded
  b[288] = flags;
  b[296] = 1; // num_attrs
  b[320] = 2; // attrs[0].attr.id = OUTPUT_VALUES
  b[328] = initial; // attrs[0].attr.values
  b[336] = 1; // attrs[0].mask: line 0
  b[560] = 1; // num_lines
  le32(588, 0xffffffff); // fd = -1 until the kernel fills it
  return b;
}

Deno.test("an output request encodes offset, consumer, flags and the initial value", () => {
  const plain = encodeOutputRequest({
    offset: 17,
    consumer: "ledctl",
    activeLow: false,
    initial: false,
  });
  deepStrictEqual(plain, expectedRequest(17, 8, 0));
  const inverted = encodeOutputRequest({
    offset: 14,
    consumer: "ledctl",
    activeLow: true,
    initial: true,
  });
  deepStrictEqual(inverted, expectedRequest(14, 8 | 2, 1));
  equal(requestFd(plain), -1);
  new DataView(plain.buffer).setInt32(588, 7, true);
  equal(requestFd(plain), 7);
});

Deno.test("a consumer longer than 31 bytes is truncated, keeping the NUL", () => {
  const req = encodeOutputRequest({
    offset: 0,
    consumer: "x".repeat(40),
    activeLow: false,
    initial: false,
  });
  equal(new TextDecoder().decode(req.subarray(256, 287)), "x".repeat(31));
  equal(req[287], 0);
  equal(req[288], 8, "does not spill into the config");
});

Deno.test("chip info decodes name, label and line count", () => {
  const b = new Uint8Array(68);
  b.set(new TextEncoder().encode("gpiochip0"), 0);
  b.set(new TextEncoder().encode("pinctrl-bcm2835"), 32);
  b[64] = 54;
  deepStrictEqual(decodeChipInfo(b), { name: "gpiochip0", label: "pinctrl-bcm2835", lines: 54 });
});

Deno.test("line info query sets only the offset; decoding reads name, consumer, flags", () => {
  const q = encodeLineInfoQuery(17);
  equal(q.length, 256);
  equal(q[64], 17);
  equal(q.reduce((a, x) => a + x, 0), 17);
  q.set(new TextEncoder().encode("GPIO17"), 0);
  q.set(new TextEncoder().encode("ledctl"), 32);
  q[72] = 1 | 8; // USED | OUTPUT
  deepStrictEqual(decodeLineInfo(q), { name: "GPIO17", consumer: "ledctl", offset: 17, flags: 9n });
});

Deno.test("line values: bits and mask for line 0", () => {
  deepStrictEqual([...encodeLineValues(true)], [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  deepStrictEqual([...encodeLineValues(false)], [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  equal(decodeLineValue(encodeLineValues(true)), true);
  const other = new Uint8Array(16);
  other[0] = 2; // line 1 high, line 0 low
  equal(decodeLineValue(other), false);
});

Deno.test("an input request sets only offset, consumer, INPUT and one line", () => {
  const req = encodeInputRequest(17, "probe");
  const expected = new Uint8Array(592);
  expected[0] = 17;
  expected.set(new TextEncoder().encode("probe"), 256);
  expected[288] = 4; // INPUT
  expected[560] = 1;
  expected.set([0xff, 0xff, 0xff, 0xff], 588);
  deepStrictEqual(req, expected);
});
