// `fedfacet client`: one simulated device over HTTP. It trains its own user of a data folder (or of
// the coordinator's synthetic data), keeps its registration and private values in --state (a file
// written atomically), and prints one timestamped line per event until training is over, --rounds
// updates were accepted, or SIGINT/SIGTERM.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { readFolder } from "../data/folder.js";
import { FederatedClient, syntheticData, type ClientEvent } from "../federated/net-client/client.js";
import { FileStateStore } from "../federated/net-client/file-store.js";
import type { StateStore } from "../federated/net-client/state.js";
import type { UpdateCompression } from "../federated/net-client/update-frame.js";
import { optionError, UsageError, type Command } from "./command.js";
import { seconds } from "./serve-options.js";
import { int, num } from "./train-options.js";

const HELP = `Usage: fedfacet client --server URL --data DIR|synthetic --user ID [options]

Runs one federated device: registers with the coordinator, then in every round it is selected
for, trains its user on the round's global values and its own private values and sends the
update. Network errors and coordinator restarts are waited out (retries with backoff).

  --server URL        the coordinator (fedfacet serve), e.g. http://127.0.0.1:8765
  --data DIR          a KuaiSAR-style folder holding this device's user, or 'synthetic': the
                      synthetic data the coordinator's run announces
  --user ID           the user's raw id in the data
  --state FILE        registration, private values and compression residuals, kept across
                      restarts (default: memory only, lost when the process ends)
  --rounds N          stop after N accepted updates (default: when training is over)
  --compression C     f32 (default), int8, topk or topk-int8 for the shared and expert deltas
  --k K               topk, topk-int8: entries kept per partition, a fraction in (0, 1) or a count
  --block B           int8, topk-int8: values per quantisation block (default 128)
  --max-backoff S     longest wait between retries, in seconds (default 15)
  --dp-min-noise Z    the least differential-privacy noise this device takes part with: it stops
                      with an error (before training) when the coordinator's run has no DP, when
                      its announced noise multiplier is below Z, or, in a secure DP round, when its
                      own noise std sigma*C/sqrt(T) is below Z*C/sqrt(T) (C the clip, T the
                      round's threshold). Central-noise runs: the device sends its clipped update
                      un-noised and checks only the multiplier the coordinator announces
  --label TEXT        sent with the registration
  -h, --help          show this help`;

const OPTIONS = {
  server: { type: "string" },
  data: { type: "string" },
  user: { type: "string" },
  state: { type: "string" },
  rounds: { type: "string" },
  compression: { type: "string" },
  k: { type: "string" },
  block: { type: "string" },
  "max-backoff": { type: "string" },
  "dp-min-noise": { type: "string" },
  label: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const ENCODINGS: readonly UpdateCompression["encoding"][] = ["f32", "int8", "topk", "topk-int8"];

/** One line per event (the integration test reads them). */
export function describeEvent(e: ClientEvent): string {
  switch (e.kind) {
    case "registered":
      return `registered as client ${e.client} (round ${e.round})`;
    case "task":
      return `round ${e.round}: task received`;
    case "trained":
      return `round ${e.round}: trained (loss ${e.loss.toFixed(4)}, ${e.samples} samples, routes ${e.routes.join(",")})`;
    case "accepted":
      return `round ${e.round}: update accepted (${e.bytes} bytes)`;
    case "refused":
      return `round ${e.round}: update refused (${e.error})`;
    case "aggregated":
      return `round ${e.round}: update aggregated`;
    case "lost":
      return `round ${e.round}: update not aggregated, its private values dropped`;
    case "retry":
      return `retry ${e.attempt} in ${(e.delayMs / 1000).toFixed(2)} s: ${e.reason}`;
    case "finished":
      return "training is over";
  }
}

function compressionOf(a: { compression?: string; k?: string; block?: string }): UpdateCompression {
  const encoding = (a.compression ?? "f32") as UpdateCompression["encoding"];
  if (!ENCODINGS.includes(encoding)) throw new UsageError(`--compression must be one of ${ENCODINGS.join(", ")}, got '${a.compression}'`);
  const c: UpdateCompression = { encoding };
  if (a.k !== undefined) {
    if (encoding !== "topk" && encoding !== "topk-int8") throw new UsageError("--k applies to --compression topk and topk-int8");
    const k = Number(a.k);
    if (!(a.k.trim() !== "" && ((k > 0 && k < 1) || (Number.isInteger(k) && k >= 1)))) throw new UsageError(`--k must be a fraction in (0, 1) or an integer >= 1, got '${a.k}'`);
    c.k = k;
  } else if (encoding === "topk" || encoding === "topk-int8") {
    throw new UsageError(`--compression ${encoding} needs --k`);
  }
  if (a.block !== undefined) {
    if (encoding !== "int8" && encoding !== "topk-int8") throw new UsageError("--block applies to --compression int8 and topk-int8");
    c.block = int("block", a.block, 1);
  }
  return c;
}

export const clientCommand: Command = {
  name: "client",
  summary: "run one federated device against a coordinator (fedfacet serve)",
  async run(args) {
    let a;
    try {
      a = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }).values;
    } catch (e) {
      throw optionError(e);
    }
    if (a.help) {
      console.log(HELP);
      return 0;
    }
    if (a.server === undefined) throw new UsageError("--server URL is required");
    if (a.data === undefined) throw new UsageError("--data DIR|synthetic is required");
    if (a.user === undefined) throw new UsageError("--user ID is required");
    const user = Number(a.user);
    if (!(a.user.trim() !== "" && Number.isFinite(user))) throw new UsageError(`--user must be a number, got '${a.user}'`);
    try {
      new URL(a.server);
    } catch {
      throw new UsageError(`--server must be a URL, got '${a.server}'`);
    }
    const maxRounds = int("rounds", a.rounds, 1);
    const compression = compressionOf(a);
    const maxDelayMs = seconds("max-backoff", a["max-backoff"]);
    const minNoise = num("dp-min-noise", a["dp-min-noise"], (n) => n > 0, "a positive number");
    const data = a.data === "synthetic" ? syntheticData : readFolder(resolve(a.data));
    const store: StateStore | undefined = a.state === undefined ? undefined : new FileStateStore(resolve(a.state));
    const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
    const stop = new AbortController();
    const onSignal = (signal: string) => {
      log(`${signal}: stopping (state ${a.state === undefined ? "not kept" : `in ${resolve(a.state)}`})`);
      stop.abort();
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const client = new FederatedClient({
      server: a.server,
      user,
      data,
      store,
      compression,
      maxRounds,
      minNoise,
      label: a.label,
      retry: maxDelayMs === undefined ? {} : { maxDelayMs },
      signal: stop.signal,
      onEvent: (e) => log(describeEvent(e)),
    });
    try {
      const s = await client.run();
      log(`done: client ${s.client}, ${s.accepted.length} updates accepted${s.finished ? ", training is over" : ""}`);
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    return 0;
  },
};
