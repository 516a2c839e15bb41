// `fedfacet privacy epsilon`: the (ε, δ) guarantee of the Poisson-subsampled Gaussian mechanism
// (DP-SGD, DP-FedAvg) from its noise multiplier, sampling rate and step count (RDP accountant,
// src/privacy).
import { parseArgs } from "node:util";
import { epsilonOf } from "../privacy/rdp.js";
import { optionError, UsageError, type Command } from "./command.js";

const HELP = `Usage: fedfacet privacy epsilon --noise-multiplier Z --sample-rate Q --steps N --delta D

Prints epsilon of N steps of the Poisson-subsampled Gaussian mechanism (each record taking part
with probability Q, Gaussian noise of std Z times the clipping bound), at failure probability D,
and the Renyi order where the bound is tightest. Accountant: Renyi DP (Mironov et al. 2019),
converted to (epsilon, delta) as Opacus does (Balle et al. 2020), orders 1.1..10.9 and 12..63.

  --noise-multiplier Z   noise std / clipping bound, > 0
  --sample-rate Q        in (0, 1] (1: no subsampling)
  --steps N              integer >= 0
  --delta D              in (0, 1)
  -h, --help             show this help`;

const OPTIONS = {
  "noise-multiplier": { type: "string" },
  "sample-rate": { type: "string" },
  steps: { type: "string" },
  delta: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function required(name: string, v: string | undefined, ok: (n: number) => boolean, what: string): number {
  if (v === undefined) throw new UsageError(`--${name} is required (${what})`);
  const n = Number(v);
  if (!(v.trim() !== "" && Number.isFinite(n) && ok(n))) throw new UsageError(`--${name} must be ${what}, got '${v}'`);
  return n;
}

export const privacyCommand: Command = {
  name: "privacy",
  summary: "privacy accounting: 'privacy epsilon' gives epsilon of the subsampled Gaussian mechanism",
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === "-h" || sub === "--help") {
      console.log(HELP);
      return sub === undefined ? 2 : 0;
    }
    if (sub !== "epsilon") throw new UsageError(`unknown privacy command '${sub}' (commands: epsilon)`);
    let a;
    try {
      a = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: false }).values;
    } catch (e) {
      throw optionError(e);
    }
    if (a.help) {
      console.log(HELP);
      return 0;
    }
    const z = required("noise-multiplier", a["noise-multiplier"], (n) => n > 0, "a positive number");
    const q = required("sample-rate", a["sample-rate"], (n) => n > 0 && n <= 1, "in (0, 1]");
    const steps = required("steps", a.steps, (n) => Number.isInteger(n) && n >= 0, "an integer >= 0");
    const delta = required("delta", a.delta, (n) => n > 0 && n < 1, "in (0, 1)");
    const { epsilon, order } = epsilonOf(q, z, steps, delta);
    console.log(`epsilon ${epsilon.toFixed(6)} at delta ${delta} (best Renyi order ${order}; noise multiplier ${z}, sample rate ${q}, ${steps} steps)`);
    return 0;
  },
};
