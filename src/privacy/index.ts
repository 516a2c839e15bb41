// Differential-privacy accounting (no dependency beyond the language: runs in a browser too).
export { RdpAccountant, calibrateNoise } from "./accountant.js";
export { DEFAULT_ORDERS, epsilonFromRdp, epsilonOf, rdpCurve, rdpSubsampledGaussian, type Epsilon } from "./rdp.js";
