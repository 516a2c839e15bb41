#!/usr/bin/env node
// The `fedfacet` command. On Node 20, whose V8 runs relaxed SIMD only behind a flag, it first
// restarts itself once with that flag (relaunch.ts), so the CLI trains on the fused-multiply-add
// build as on newer runtimes; the commands are loaded only in the process that runs them.
import { relaunchWithRelaxedSimd } from "./relaunch.js";

if (!relaunchWithRelaxedSimd()) {
  const { runCli } = await import("./dispatch.js");
  await runCli(process.argv.slice(2));
}
