// Named bundles of settings. "reference" is METHOD.md's (defaultConfig). "device" adds what a
// device knows and the reference model leaves unused, and the aggregation that lets sparse rows
// learn; measured on KuaiSAR-R in bench/results/kuaisar-r-device.md:
// - a private per-user logit bias starting at the logit of the user's own training click rate;
// - the click label of each history item as an input;
// - shared scalars per item-field value added to the logit (the item half of logistic regression);
// - the private partition on its own plain SGD (lr 0.1), so that it settles instead of jittering
//   by ±lr under a fresh Adam's sign-like first step every round;
// - each shared value averaged over the participants that changed it (touched-average.ts);
// - the personal bias in eval mode: at prediction, the user's own log-odds of clicking the target's
//   item-field values (from its training history, shrunk, × 0.25) added to the logit.
// Each regime takes the parts that apply to it: local training has nothing to average and its
// whole model is private (it keeps its Adam), central has no per-user parameters (the bias is one
// global offset there, and there is no personal table). Training on the whole history (--history all) measured no better than on
// the last window at 1.5× the time, so it is not part of the preset.
import type { TrainConfig } from "./config.js";
import { PRIVATE_DEFAULTS } from "./private-training.js";

export type Preset = "reference" | "device";
export const PRESETS: readonly Preset[] = ["reference", "device"];

/** Rewrites c (a regime's defaultConfig) to the preset's settings. */
export function applyPreset(c: TrainConfig, preset: Preset): void {
  if (preset === "reference") return;
  if (preset !== "device") throw new RangeError(`preset must be one of ${PRESETS.join(", ")}, got '${preset}'`);
  c.model.userBias = true;
  c.model.clickInput = true;
  c.model.itemBias = true;
  if (c.regime === "central") return;
  c.model.personalBias = "eval";
  c.local.private = { ...PRIVATE_DEFAULTS, biasInit: "click-rate", optimizer: c.regime === "local" ? "shared" : "sgd" };
  if (c.regime === "local") return;
  c.averaging = "touched";
}
