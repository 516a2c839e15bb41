// `fedfacet eval`: the metrics of a checkpointed run, recomputed from its parameters; or, with
// --user, what the model predicts for one user through the on-device path.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { rawIdIndex, type Dataset } from "../data/dataset.js";
import { checkConfig, type TrainConfig } from "../federated/config.js";
import { DeviceScorer, deviceState } from "../federated/device.js";
import { metricsOf, testAucInterval } from "../federated/evaluate.js";
import { defaultWorkers } from "../federated/pool.js";
import { deriveSeed, Stream } from "../federated/seed.js";
import { loadData } from "../federated/source.js";
import { readRunCheckpoint, restoreEngine } from "../federated/trainer.js";
import { optionError, UsageError, type Command } from "./command.js";
import { int } from "./train-options.js";

const HELP = `Usage: fedfacet eval --checkpoint PATH [options]

Recomputes validation and test AUC / LogLoss of a checkpointed run over every user, from the
checkpoint's parameters. With --user, scores items for that user through the on-device path.

Options:
  --checkpoint PATH   a run folder (from fedfacet train --out) or its checkpoint.ffck
  --data DIR          the data folder, if it moved since training
  --workers W         worker threads (default: one per core; 0 or 1: none)
  --user ID           raw user id: print that user's predictions instead of the metrics
  --items ID,...      raw item ids to score for --user after its whole history
                      (default: its test item, after the impressions before it)
  --bootstrap N       resamples for the test AUC interval (default: the run's)
  -h, --help          show this help`;

function parse(args: string[]) {
  try {
    const options = {
      checkpoint: { type: "string" },
      data: { type: "string" },
      workers: { type: "string" },
      user: { type: "string" },
      items: { type: "string" },
      bootstrap: { type: "string" },
      help: { type: "boolean", short: "h" },
    } as const;
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw optionError(e);
  }
}


async function scoreUser(config: TrainConfig, ck: ReturnType<typeof readRunCheckpoint>, ds: Dataset, userArg: string, itemsArg: string | undefined): Promise<void> {
  const u = rawIdIndex(ds.userIds, Number(userArg));
  if (userArg.trim() === "" || u < 0) throw new UsageError(`--user: no user with id '${userArg}' in the data`);
  const start = ds.seqStart[u]!;
  const end = ds.seqStart[u + 1]!;
  let historyEnd = end;
  let candidates: number[];
  let labels: (number | null)[];
  if (itemsArg === undefined) {
    historyEnd = end - 1;
    candidates = [ds.seqItems[end - 1]!];
    labels = [ds.seqLabels[end - 1]!];
  } else {
    candidates = itemsArg.split(",").map((s) => {
      const i = rawIdIndex(ds.itemIds, Number(s.trim()));
      if (s.trim() === "" || i < 0) throw new UsageError(`--items: no item with id '${s.trim()}' in the data`);
      return i + 1;
    });
    labels = candidates.map(() => null);
  }
  const scorer = await DeviceScorer.create(deviceState(ck, u));
  const F = ds.userFields.length;
  const probs = scorer.score({
    history: ds.seqItems.subarray(start, historyEnd),
    clicks: ds.seqLabels.subarray(start, historyEnd),
    userCodes: ds.userFeatures.subarray(u * F, (u + 1) * F),
    itemFeatures: ds.itemFeatures,
    candidates,
  });
  console.log(`user ${userArg}: ${historyEnd - start} impressions of history, ${config.regime} model after round ${ck.header.round}`);
  console.log(`item id        P(click)${itemsArg === undefined ? "  clicked" : ""}`);
  candidates.forEach((i, j) => console.log(`${String(ds.itemIds[i - 1]).padEnd(12)}  ${probs[j]!.toFixed(4)}${labels[j] === null ? "" : `  ${labels[j]}`}`));
}

export const evalCommand: Command = {
  name: "eval",
  summary: "metrics of a checkpointed run, or a user's scores through the on-device path",
  async run(args) {
    const a = parse(args);
    if (a.help) {
      console.log(HELP);
      return 0;
    }
    if (a.checkpoint === undefined) throw new UsageError("--checkpoint is required (a run folder or its checkpoint.ffck)");
    if (a.items !== undefined && a.user === undefined) throw new UsageError("--items needs --user");
    const workers = int("workers", a.workers, 0) ?? defaultWorkers();
    const bootstrap = int("bootstrap", a.bootstrap, 1);
    let ck;
    try {
      ck = readRunCheckpoint(resolve(a.checkpoint));
    } catch (e) {
      throw new UsageError(`--checkpoint: ${(e as Error).message}`);
    }
    const config: TrainConfig = { ...ck.header.config, bootstrap: bootstrap ?? ck.header.config.bootstrap };
    if (a.data !== undefined) config.data = { kind: "folder", dir: resolve(a.data) };
    checkConfig(config);
    if (a.user !== undefined) {
      await scoreUser(config, ck, loadData(config.data), a.user, a.items);
      return 0;
    }
    const engine = await restoreEngine(ck, config, workers);
    try {
      const p = await engine.evaluate(() => {});
      const m = metricsOf(p, engine.split);
      const [lo, hi] = testAucInterval(p, engine.split, deriveSeed(config.seed, Stream.Bootstrap, ck.header.round), config.bootstrap);
      console.log(`${config.regime} after round ${ck.header.round} on ${engine.ds.numUsers} users`);
      console.log(`            AUC      LogLoss`);
      console.log(`valid    ${m.val_auc.toFixed(4)}   ${m.val_logloss.toFixed(4)}`);
      console.log(`test     ${m.test_auc.toFixed(4)}   ${m.test_logloss.toFixed(4)}   (95% CI ${lo.toFixed(3)}–${hi.toFixed(3)})`);
    } finally {
      await engine.close();
    }
    return 0;
  },
};
