// A device's cost of distributed DP in a secure round (secagg/noised-vector.ts): clip, draw the
// WebCrypto Gaussian noise for every element of the padded vector, quantise. Defaults: the default
// MRFF at KuaiSAR-R scale (32,897 shared values, 2 blocks × 4 experts of 4,704), C = 18 and σ = 2.94
// (ε 8 over 20 rounds at q = 1), a cohort of n = 100 with threshold T = 51. Prints the CPU
// milliseconds per vector, the device's noise std, the range B and the quantisation step B/Q.
//   node dist/bench/noised-vector.js [vectors=20] [sigma=2.94] [clip=18] [cohort=100] [threshold=51]
import { cryptoNormal, noisedSpec, noisedVector, quantiseNoised } from "../src/federated/secagg/noised-vector.js";
import { quantLevels } from "../src/federated/secagg/quantise.js";
import type { SecureLayout } from "../src/federated/secagg/update-vector.js";
import { benchPositionals } from "./bench-args.js";

const { vectors, sigma, clip, cohort, threshold } = benchPositionals({ vectors: 20, sigma: 2.94, clip: 18, cohort: 100, threshold: 51 });
const S = 32_897;
const blocks = 2;
const groups = 4;
const size = 4_704;
const cells = blocks * groups;
const layout: SecureLayout = {
  shared: S,
  group: cells * size,
  experts: { blocks, groups, start: Int32Array.from({ length: cells }, (_, c) => c * size), size: new Int32Array(cells).fill(size) },
};
const dp = { clip, noiseMultiplier: sigma };
const spec = noisedSpec(dp, threshold, blocks, cohort);
const update = { shared: new Float32Array(S).fill(0.1), experts: [new Float32Array(size).fill(0.1), new Float32Array(size).fill(0.1)], routes: Int32Array.of(1, 3), samples: 0, loss: 0 };
const cpu = process.cpuUsage();
for (let i = 0; i < vectors; i++) quantiseNoised(noisedVector(update, layout, dp, spec, cryptoNormal()), layout, spec);
const used = process.cpuUsage(cpu);
const step = spec.values.bound / quantLevels(spec.values);
console.log(`${S + cells * size + cells} values per vector: ${((used.user + used.system) / 1000 / vectors).toFixed(1)} CPU ms (clip + noise + quantise)`);
console.log(`device noise std ${spec.std.toFixed(4)} (sum of T: ${(sigma * clip).toFixed(2)}), range B ${spec.values.bound.toFixed(3)}, step B/Q ${step.toExponential(3)}, sum of ${cohort} within ${((cohort * step) / 2).toExponential(2)}`);
