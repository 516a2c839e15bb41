// A device's DP noise floor (net-client/noise-floor.ts) on its own: a run without DP is refused,
// a central task below the floor is refused and one at it taken, a secure task's per-device std is
// held against the floor's (refused below, taken at the boundary exactly), and every refusal names
// the values. The runs against real coordinators are in net-client.dp.test.ts and secure-dp.test.ts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { FederatedClient } from "../src/federated/net-client/client.js";
import { noiseFloorRefusal } from "../src/federated/net-client/noise-floor.js";
import type { SecureTask } from "../src/federated/net-client/secure-device.js";
import { noisedSpec } from "../src/federated/secagg/noised-vector.js";

const secure = (threshold: number, clients = 10): SecureTask => ({ session: 1, threshold, clients, bound: 1 });
const central = (noiseMultiplier: number) => ({ clip: 2, noise: "central" as const, noiseMultiplier });
const local = (noiseMultiplier: number, clip = 0.5) => ({ clip, noise: "local" as const, noiseMultiplier });

test("a run without DP is refused, plain or secure, naming the floor", () => {
  assert.match(noiseFloorRefusal(1.5, undefined, null, 3) ?? "", /^round 3: the coordinator's run has no differential privacy, so this device's update would leave un-noised; its minimum noise multiplier is 1.5$/);
  assert.match(noiseFloorRefusal(1.5, undefined, secure(4), 0) ?? "", /contribution to the secure sum would leave un-noised; its minimum noise multiplier is 1.5/);
});

test("central noise: refused below the floor (naming both), taken at it and above", () => {
  assert.is(noiseFloorRefusal(1.3, central(1.2999), null, 2), "round 2: the coordinator's DP run announces noise multiplier 1.2999, below this device's minimum 1.3");
  assert.is(noiseFloorRefusal(1.3, central(1.3), null, 2), null);
  assert.is(noiseFloorRefusal(1.3, central(4), null, 2), null);
  for (const bad of [undefined, 0, -1, NaN, Infinity, "2"]) {
    const dp = { clip: 2, noise: "central", noiseMultiplier: bad } as unknown as ReturnType<typeof central>;
    assert.match(noiseFloorRefusal(1, dp, null, 0) ?? "", /announces no valid noise multiplier/, String(bad));
  }
});

test("secure DP: the per-device std σC/√T against Z·C/√T; refused below with every value named, taken at the boundary", () => {
  const sigma = 1.3;
  const below = noiseFloorRefusal(sigma * 1.01, local(sigma), secure(4), 5) ?? "";
  const std = noisedSpec({ clip: 0.5, noiseMultiplier: sigma }, 4, 0, 10).std;
  assert.is(std, (sigma * 0.5) / 2);
  assert.ok(below.startsWith(`round 5: secure DP task with per-device noise std ${std} (noise multiplier 1.3 × clip 0.5 / sqrt(threshold 4)), below the `), below);
  assert.ok(below.endsWith(`this device's minimum noise multiplier ${sigma * 1.01} implies`), below);
  assert.is(noiseFloorRefusal(sigma, local(sigma), secure(4), 5), null, "at the boundary");
  assert.match(noiseFloorRefusal(1, local(1, NaN), secure(4), 5) ?? "", /no valid clip bound \(NaN\)/);
  // whatever C and T (the threshold divides both stds alike): taken when σ ≥ Z, refused when σ is
  // below Z by more than rounding (relative 1e-12; closer, the two stds may round to one value)
  fc.assert(
    fc.property(
      fc.double({ min: 1e-3, max: 100, noNaN: true }),
      fc.double({ min: 1e-3, max: 100, noNaN: true }),
      fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
      fc.integer({ min: 2, max: 1000 }),
      (sigma, floor, clip, threshold) => {
        const r = noiseFloorRefusal(floor, local(sigma, clip), secure(threshold, threshold), 0);
        if (sigma >= floor) assert.is(r, null, `σ ${sigma} ≥ Z ${floor}, C ${clip}, T ${threshold}`);
        if (sigma < floor * (1 - 1e-12)) assert.ok(r !== null, `σ ${sigma} < Z ${floor}, C ${clip}, T ${threshold}: taken`);
        assert.is(noiseFloorRefusal(sigma, local(sigma, clip), secure(threshold, threshold), 0), null, "σ = Z");
      },
    ),
  );
});

test("FederatedClient: a floor that is not a positive number is a RangeError", () => {
  for (const bad of [0, -1, NaN, Infinity]) {
    assert.throws(() => new FederatedClient({ server: "http://127.0.0.1:9", user: 1, data: () => { throw new Error("never loaded"); }, minNoise: bad }), (e: unknown) => e instanceof RangeError && /minNoise must be a positive number/.test(e.message), String(bad));
  }
});

test.run();
