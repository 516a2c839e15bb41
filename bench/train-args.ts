// `--train-args "OPTIONS"` of the benches: further `fedfacet train` options given as one string.
import type { TrainConfig } from "../src/federated/config.js";
import { configFromArgs, parseTrainArgs, type TrainArgs } from "../src/cli/train-options.js";

/** The words of an options string (options and values hold no spaces). */
export const splitArgs = (s: string): string[] => s.split(/\s+/).filter((x) => x !== "");

/**
 * The run configuration `fedfacet train` would build from `text` and the options the bench sets
 * before it (`set`, e.g. the regime, whose defaults the other options start from); throws a
 * UsageError naming the first option that is bad or that the bench sets itself (`decided`).
 */
export function configFromText(text: string, decided: readonly string[], set: TrainArgs = {}): TrainConfig {
  const args = parseTrainArgs(splitArgs(text));
  const taken = decided.find((k) => (args as Record<string, unknown>)[k] !== undefined);
  if (taken !== undefined) throw new Error(`--${taken} is set by the bench, not through --train-args`);
  return configFromArgs({ ...args, ...set });
}
