// Node 20's V8 (11.3) validates relaxed-SIMD WASM only with --experimental-wasm-relaxed-simd, so a
// plain `fedfacet` there would run the plain SIMD build (GEMMs at about 0.75× of the fused
// multiply-add build). When the runtime rejects relaxed SIMD and the node binary accepts the flag,
// the CLI restarts itself once with it. V8 flags are process-wide, so the worker threads that train
// clients get relaxed SIMD too. Opt out with FEDFACET_NO_REEXEC=1.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { constants } from "node:os";
import { isatty } from "node:tty";
import { detectSimd } from "../kernels/wasm-backend.js";

export const RELAXED_FLAG = "--experimental-wasm-relaxed-simd";
/** Set in the restarted process's environment: it never restarts again, whatever it detects. */
const GUARD = "FEDFACET_REEXECED";
/** Set to 1 by the user: never restart (the CLI runs the build this runtime offers). */
export const OPT_OUT = "FEDFACET_NO_REEXEC";

// Termination requests to pass on to the child. A Ctrl-C at a terminal reaches the whole
// foreground process group, the child included; passing SIGINT on as well would reach it as a
// second Ctrl-C, which makes `fedfacet train` quit at once instead of after the round. So SIGINT
// is passed on only when this process has no terminal on stdin (a supervisor's kill -INT).
const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Whether this node binary starts with the flag: `node FLAG --version` exits 9 on a flag V8 lacks. */
function nodeAcceptsFlag(): boolean {
  const r = spawnSync(process.execPath, [RELAXED_FLAG, "--version"], { stdio: "ignore", timeout: 10_000 });
  return r.status === 0;
}

/** Whether this process should restart itself with the relaxed-SIMD flag. */
function shouldRelaunch(env: NodeJS.ProcessEnv): boolean {
  if (env[GUARD] !== undefined || env[OPT_OUT] === "1") return false;
  // relaxed already on, or no SIMD at all (the kernel loader reports that)
  if (detectSimd() !== "simd") return false;
  if (process.execArgv.includes(RELAXED_FLAG)) return false;
  return nodeAcceptsFlag();
}

/**
 * Restarts this process with the relaxed-SIMD flag when that would enable it. Returns true when
 * a child now runs the command (this process mirrors its exit code or terminating signal and
 * must do nothing else), false when this process should run the command itself.
 */
export function relaunchWithRelaxedSimd(): boolean {
  const env = process.env;
  if (env[GUARD] !== undefined) {
    // keep the guard from commands this process may start
    delete env[GUARD];
    return false;
  }
  if (!shouldRelaunch(env)) return false;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...process.execArgv, RELAXED_FLAG, ...process.argv.slice(1)], {
      stdio: "inherit",
      env: { ...env, [GUARD]: "1" },
    });
  } catch {
    return false;
  }
  const forward = (signal: NodeJS.Signals) => {
    // isatty, not process.stdin: that would open a stream on the terminal the child reads
    if (signal === "SIGINT" && isatty(0)) return;
    child.kill(signal);
  };
  for (const s of FORWARDED) process.on(s, forward);
  child.once("error", (e) => {
    // not started (spawn failures are reported here, not thrown): say so and fail, rather than
    // running the command a second time in a process that has already handed it over
    for (const s of FORWARDED) process.off(s, forward);
    console.error(`fedfacet: could not restart node with ${RELAXED_FLAG} (${e.message}); set ${OPT_OUT}=1 to run without it`);
    process.exitCode = 1;
  });
  child.once("exit", (code, signal) => {
    for (const s of FORWARDED) process.off(s, forward);
    if (signal) {
      // end the way the child ended, so a shell or supervisor sees the same signal (and the
      // shell's code for it should this process outlive it)
      process.exitCode = 128 + (constants.signals[signal] ?? 0);
      process.kill(process.pid, signal);
      return;
    }
    process.exitCode = code ?? 1;
  });
  return true;
}
