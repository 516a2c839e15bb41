// One masked vector alone looks uniform: y_u of a highly structured input (small quantised
// values, mostly zero bytes) passes chi-square tests on its byte and bit frequencies at α = 0.001,
// and the same tests reject the unmasked input, so they have power. All randomness is seeded
// (keys, seeds, inputs), so the outcome is fixed and cannot flake.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SecAggClient } from "../src/federated/secagg/client.js";
import type { MaskedInput } from "../src/federated/secagg/messages.js";
import { SecAggServer } from "../src/federated/secagg/server.js";
import { seededRandom } from "./secagg-harness.js";

const LENGTH = 4096;
const IDS = [1, 2, 3, 4, 5];

/** Upper α-quantile of χ²(df), Wilson–Hilferty: accurate to < 0.1% for df ≥ 30. */
function chiSquareCritical(df: number, z: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}
const Z_001 = 3.0902; // standard normal upper 0.001 quantile

/** χ² of the 256 byte frequencies against uniform (df = 255). */
function byteChiSquare(words: Uint32Array): number {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const counts = new Float64Array(256);
  for (const b of bytes) counts[b]!++;
  const expected = bytes.length / 256;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

/** Σ over the 32 bit positions of z² of the count of ones (χ², df = 32). */
function bitChiSquare(words: Uint32Array): number {
  let sum = 0;
  for (let bit = 0; bit < 32; bit++) {
    let ones = 0;
    for (const w of words) ones += (w >>> bit) & 1;
    const z = (ones - words.length / 2) / Math.sqrt(words.length / 4);
    sum += z * z;
  }
  return sum;
}

/** A structured input: small non-negative integers (three of four bytes are zero, high bits never set). */
function structuredInput(): Uint32Array {
  return Uint32Array.from({ length: LENGTH }, (_, i) => Math.round(500 + 400 * Math.sin(i / 7)));
}

async function maskedVectors(): Promise<MaskedInput[]> {
  const params = { round: 3, threshold: 3, length: LENGTH };
  const server = new SecAggServer({ ...params, clients: IDS });
  const clients = IDS.map((id) => new SecAggClient({ ...params, client: id, random: seededRandom(100 + id) }));
  for (const c of clients) server.receiveAdvertise(await c.advertise());
  const directory = server.closeAdvertise();
  for (const c of clients) server.receiveShares(await c.shareKeys(directory));
  const deliveries = server.closeShares();
  return Promise.all(clients.map((c) => c.maskInput(deliveries.get(c.client)!, structuredInput())));
}

test("a masked vector passes byte and bit frequency tests at α = 0.001; its plain input fails them", async () => {
  const byteCritical = chiSquareCritical(255, Z_001); // ≈ 330.5
  const bitCritical = chiSquareCritical(32, Z_001); // ≈ 62.5
  const plain = structuredInput();
  assert.ok(byteChiSquare(plain) > 100 * byteCritical, `plain input byte χ² ${byteChiSquare(plain)}`);
  assert.ok(bitChiSquare(plain) > 100 * bitCritical, `plain input bit χ² ${bitChiSquare(plain)}`);
  for (const { client, masked } of await maskedVectors()) {
    const bytes = byteChiSquare(masked);
    const bits = bitChiSquare(masked);
    assert.ok(bytes < byteCritical, `client ${client}: byte χ² ${bytes.toFixed(1)} >= ${byteCritical.toFixed(1)}`);
    assert.ok(bits < bitCritical, `client ${client}: bit χ² ${bits.toFixed(1)} >= ${bitCritical.toFixed(1)}`);
  }
});

test("the χ² quantile approximation matches tabulated values", () => {
  // tables: χ²(255) upper 0.001 = 330.52, χ²(32) upper 0.001 = 62.49
  assert.ok(Math.abs(chiSquareCritical(255, Z_001) - 330.52) < 0.3);
  assert.ok(Math.abs(chiSquareCritical(32, Z_001) - 62.49) < 0.3);
});

test.run();
