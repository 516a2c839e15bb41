// `fedfacet train`: runs (or resumes) a training run and writes OUT/checkpoint.ffck, OUT/report.json,
// OUT/report.html and OUT/predictions.json. Ctrl-C stops after the round in progress, checkpointed; a
// second one quits.
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { defaultWorkers } from "../federated/pool.js";
import { PREDICTIONS_JSON } from "../federated/predictions-file.js";
import { CHECKPOINT_FILE, REPORT_HTML, REPORT_JSON, resumeTraining, train, type RunOptions } from "../federated/trainer.js";
import { UsageError, type Command } from "./command.js";
import { TrainDisplay } from "./progress.js";
import { configFromArgs, int, parseTrainArgs, RUN_SETTINGS } from "./train-options.js";

const HELP = `Usage: fedfacet train [options]

Trains a recommender with federated learning (or a baseline) and evaluates it every round.
With no options: MRFF on the embedded synthetic data set, METHOD.md's reference settings.

Run:
  --data DIR          KuaiSAR-style folder (default: the embedded synthetic data set)
  --model NAME        mrff | fedsasrec | local | central (default mrff)
  --preset NAME       reference (METHOD.md, the default) | device: the user bias from its click
                      rate, item-field biases, click input, private SGD, touched averaging (what
                      each regime can use; see src/federated/presets.ts); later options override it
  --backbone NAME     local and central: the model they train, mrff | fedsasrec (default mrff)
  --rounds N          rounds (central: epochs) (default 30)
  --seed S            seed of every random choice (default 1)
  --workers W         worker threads (default: one per core, ${defaultWorkers()} here; 0 or 1: none);
                      never changes the numbers
  --out DIR           where the checkpoint and the reports go (default runs/<model>-<time>)
  --force             start over in an --out folder that holds a run
  --resume DIR        continue the run in DIR with its own settings (--rounds, --workers may be given)
  --eval-every N      evaluate every N rounds, and after the last (default 1)

Federated procedure:
  --clients N         clients per round (default: all)
  --client-ratio F    or a fraction of them, in (0, 1]
  --local-steps N     optimiser steps per client per round (default 1)
  --optimizer NAME    clients' optimiser: adam (fresh every round) | sgd (default adam)
  --lr X              clients' learning rate (default 0.1; central 0.001)
  --lr-schedule S     constant | cosine | exp: the clients' lr (private optimiser included;
                      central: its Adam's) times a multiplier that falls from 1 at round 1 to
                      --lr-final at round --lr-span, then stays (default constant)
  --lr-final F        the schedule's final multiplier, in (0, 1] (default 0.1)
  --lr-span N         the round the schedule reaches it (default --rounds)
  --weight-decay X    decoupled weight decay (default 0)
  --history H         last | all: train on the last maxlen impressions (METHOD.md) or the whole
                      history cut into windows of maxlen (default last)
  --server NAME       how averages become the global values: avg (FedAvg) | adam (FedAdam)
                      (default avg)
  --server-lr X       FedAdam's learning rate (default 0.01)
  --weighting W       uniform | samples: how participants are averaged (default uniform)
  --aggregator A      mean | median | trimmed | normbound | foolsgold | rlr | consensus, or shared=A,group=A per partition
                      (default mean; the others resist poisoning, see README)
  --aggregator-tensors P=A,...
                      a rule for the shared parameter tensors named P or P.* (e.g. mlp.0=consensus),
                      aggregated on their own; the rest of the partition takes --aggregator's rule
  --trim B            trimmed: fraction cut at each end, in [0, 0.5) (default 0.1)
  --norm-bound C      normbound, foolsgold, rlr, consensus: L2 bound of a client's update, or 'median' of the round's norms
                      (default median)
  --agree F           rlr, consensus: a coordinate steps against the mean (rlr) or keeps its value
                      (consensus) unless |Σ of the clients' update signs| reaches ⌈F·clients⌉;
                      F in (0, 1] (default 0.3)
  --averaging A       all | touched: each shared value averaged over all participants (FedAvg)
                      or over those whose training changed it (default all)
  --chunk N           clients summed per task; fixes the summation order (default 32)
  --compression C     how updates travel: f32 (raw, default) | int8 | topk | topk-int8; all but
                      f32 send the delta through the wire format with error feedback
  --topk F            topk, topk-int8: entries sent per partition, a fraction in (0, 1) or a count
  --int8-block N      int8, topk-int8: values per quantisation scale (default 128)
  --batch-size N      central: users per minibatch (default 64)

Model:
  --maxlen N  --field-dim N  --blocks N  --heads H  --groups K  --alpha A  --dropout P
  --mlp W1,W2,...     (H must divide the item vector's width: item fields × field dim)
  --gate-weighted     H = g_k·FFN_k(X) + FFN_user(X)
  --user-expert-init I
                      fan-in | zero: the private user expert's output layer starts as every
                      layer does (default) or at 0, so each user's expert starts as no change
  --click-input       add a clicked / not-clicked embedding to history items
  --gate-clicks       the gate also reads the clicked − unclicked mean of X
  --user-bias         a private per-user scalar added to every logit
  --item-bias         shared scalars per item-field value, the target's added to the logit
  --personal-bias M   private per-user scalars per item-field value, the target's added to the
                      logit (the user's own taste per category): trained (in training and
                      prediction) | eval (added at prediction only, never trained)

Private partition (user fields, user experts, user bias) on the device:
  --private-opt NAME  shared (steps with the clients' optimiser) | sgd | adam (its own Adam,
                      state kept on the device across rounds) (default shared)
  --private-lr X      the private optimiser's learning rate (default 0.1)
  --private-steps N   extra steps per round on the private partition alone (default 0)
  --bias-init NAME    zero | click-rate: the user bias starts at the logit of the user's own
                      training click rate, the personal bias at the logit of its rate on each
                      item-field value minus that (default zero)
  --personal-prior A  pseudo-impressions at the user's own rate shrinking its per-value rates
                      (default 10)
  --personal-weight W the personal bias starts at W × those log-odds (default 0.25)

Differential privacy (user-level DP-FedAvg; README "Differential privacy"):
  --dp-epsilon E      privacy budget: the noise is calibrated so that --rounds rounds spend at
                      most E; a run stops before a round that would exceed it
  --dp-delta D        the budget's delta (required with --dp-epsilon; well below 1/clients)
  --dp-clip C         L2 bound of one client's update (default 18: about the median update norm
                      of the reference MRFF on KuaiSAR-R)
  --dp-noise WHERE    central (the coordinator adds noise to the sum) | local (each client
                      noises its own update; the sum's noise then reveals how many took part,
                      so the reported epsilon is not a proven bound for the model: README
                      "Differential privacy") (default central)
  Clients are then Poisson-sampled at --client-ratio (default 1) each round.

Report:
  --bootstrap N       resamples for the test AUC interval (default 1000)
  -h, --help          show this help`;

export const trainCommand: Command = {
  name: "train",
  summary: "train MRFF (or a baseline) federated, evaluating every round; --resume continues a run",
  async run(args) {
    const a = parseTrainArgs(args);
    if (a.help) {
      console.log(HELP);
      return 0;
    }
    const workers = int("workers", a.workers, 0) ?? defaultWorkers();
    const rounds = int("rounds", a.rounds, 1);
    const display = new TrainDisplay((line) => console.log(line), process.stderr.isTTY ? process.stderr : null);
    const stop = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      if (++interrupts > 1) process.exit(130);
      stop.abort();
      console.error("\nstopping after this round (Ctrl-C again to quit now)");
    };
    const opts: RunOptions = {
      workers,
      signal: stop.signal,
      onProgress: (p) => display.progress(p),
      onRound: (row, r) => display.round(row, r.best),
    };
    let out: string;
    process.on("SIGINT", onSigint);
    try {
      let result;
      if (a.resume !== undefined) {
        const given = RUN_SETTINGS.filter((k) => (a as Record<string, unknown>)[k] !== undefined);
        if (given.length > 0) throw new UsageError(`--resume takes the run's settings from its checkpoint: drop --${given.join(", --")}`);
        if (a.out !== undefined) throw new UsageError("--resume writes to the run's own folder: drop --out");
        out = resolve(a.resume);
        if (!existsSync(join(out, CHECKPOINT_FILE))) throw new UsageError(`--resume: no run to resume in '${out}' (${CHECKPOINT_FILE} is missing)`);
        result = await resumeTraining(out, { ...opts, rounds });
      } else {
        const config = configFromArgs(a);
        out = resolve(a.out ?? join("runs", `${config.regime}-${new Date().toISOString().replace(/[:.]/g, "-")}`));
        if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out: '${out}' is not a folder`);
        if (existsSync(join(out, CHECKPOINT_FILE)) && !a.force) {
          throw new UsageError(`--out: '${out}' already holds a run: continue it with --resume ${a.out ?? out}, or start over with --force`);
        }
        result = await train(config, { ...opts, out });
      }
      // predictions.json exists once a round was evaluated
      const written = [REPORT_JSON, REPORT_HTML, PREDICTIONS_JSON].map((f) => join(out, f)).filter((f) => existsSync(f));
      display.finish(result.report, written);
      // stopped by Ctrl-C: the shell's convention for a run ended by SIGINT (the privacy budget
      // ending a run early is a normal end)
      return result.report.completed || result.report.stopped !== undefined ? 0 : 130;
    } finally {
      process.off("SIGINT", onSigint);
    }
  },
};
