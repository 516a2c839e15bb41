// A device's floor on the differential-privacy noise (FederatedClientOptions.minNoise, `fedfacet
// client --dp-min-noise Z`, the browser page's `dp-min-noise`). The σ and clip C a registration
// announces, and a secure round's threshold T, come from the coordinator, which the device cannot
// audit; with a floor Z the device takes part only in rounds whose announced noise is at least
// what Z asks for, and refuses before it trains:
//   - a run without DP: its update (plain) or the sum it joins (secure) would carry no noise;
//   - a central-noise DP task whose σ is below Z. The device sends its clipped update un-noised
//     and the coordinator says it adds σC to the sum: the floor checks that claim, not the noise;
//   - a secure DP task whose per-device noise std σC/√T (what this device adds, noised-vector.ts)
//     is below Z·C/√T, the std with which the sum of any T survivors carries Z·C.
// What the floor cannot see: a coordinator that lies about the noise it adds itself (central), and
// cohort members that skip their share (sybils the coordinator controls count towards T).
// Browser-safe.
import type { ClientConfig } from "../coordinator/coordinator.js";
import { noisedSpec } from "../secagg/noised-vector.js";
import type { SecureTask } from "./secure-device.js";

/** Why a device with floor `floor` refuses this task of round `round`, or null if it may take part. */
export function noiseFloorRefusal(floor: number, dp: ClientConfig["dp"] | undefined, secure: SecureTask | null, round: number): string | null {
  if (!dp) return `round ${round}: the coordinator's run has no differential privacy, so this device's ${secure ? "contribution to the secure sum" : "update"} would leave un-noised; its minimum noise multiplier is ${floor}`;
  const sigma: unknown = dp.noiseMultiplier;
  const clip: unknown = dp.clip;
  if (!(typeof sigma === "number" && sigma > 0 && Number.isFinite(sigma))) return `round ${round}: the coordinator's DP run announces no valid noise multiplier (${String(sigma)}); this device's minimum is ${floor}`;
  if (!secure) return sigma < floor ? `round ${round}: the coordinator's DP run announces noise multiplier ${sigma}, below this device's minimum ${floor}` : null;
  if (!(typeof clip === "number" && clip > 0 && Number.isFinite(clip))) return `round ${round}: the coordinator's DP run announces no valid clip bound (${String(clip)}); this device's minimum noise multiplier is ${floor}`;
  // the std the device would add, and the one σ = Z would give, by the same code (σ = Z passes exactly)
  const stdOf = (noiseMultiplier: number) => noisedSpec({ clip, noiseMultiplier }, secure.threshold, 0, secure.clients).std;
  const std = stdOf(sigma);
  const least = stdOf(floor);
  if (std < least) {
    return `round ${round}: secure DP task with per-device noise std ${std} (noise multiplier ${sigma} × clip ${clip} / sqrt(threshold ${secure.threshold})), below the ${least} this device's minimum noise multiplier ${floor} implies`;
  }
  return null;
}
