// One client's work (ARCHITECTURE.md decision 6: a pure function of the global parameters, its
// private state and its local data): train a few local steps from the round's global values and
// its own private values, or predict its validation and test clicks. Loading the values into the
// ParamStore is the caller's job (ClientRunner), so the same code serves every transport.
import { PARTITIONS, type ParamStore, type Partition } from "../autograd/params.js";
import { Tape } from "../autograd/tape.js";
import type { Dataset } from "../data/dataset.js";
import { allocWindows, fillPhaseWindow, fillWindow, lastTarget, type LeaveOneOut, type Phase } from "../data/split.js";
import { Arena } from "../kernels/arena.js";
import type { BatchInputs, Recommender } from "../model/types.js";
import { Adam, ADAM_DEFAULTS } from "../optim/adam.js";
import { checkLrSchedule, lrMultiplier, type LrSchedule } from "../optim/schedule.js";
import { Sgd } from "../optim/sgd.js";
import { Rng } from "../util/rng.js";
import { checkPrivateOptions, PrivateOptimizer, roundPartitions, type PrivateOptions } from "./private-training.js";

export interface LocalOptions {
  /** Optimiser steps per round over the client's training window (METHOD.md: 1). */
  localSteps: number;
  /** A fresh Adam every round (METHOD.md), or plain SGD (with a server-side optimiser). */
  optimizer: "adam" | "sgd";
  lr: number;
  /** Decoupled weight decay. */
  weightDecay: number;
  /**
   * The training windows: "last" = the window of the last maxlen training impressions (METHOD.md;
   * the default when absent), "all" = the whole training history cut into windows of maxlen
   * targets, most recent first (a long history's older impressions are otherwise never trained on).
   */
  history?: "last" | "all";
  /** How the private partition trains (private-training.ts); absent: with the optimiser above. */
  private?: PrivateOptions;
  /**
   * The step size over rounds (schedule.ts): round r's steps, the private optimiser's included,
   * use lr × the schedule's multiplier at r. Absent: constant (METHOD.md).
   */
  lrSchedule?: LrSchedule;
}

/** The optimiser a client (or the central model) trains the given partitions with. */
export function localOptimizer(store: ParamStore, o: LocalOptions, partitions: readonly Partition[] = PARTITIONS): Adam | Sgd {
  if (o.optimizer === "sgd") return new Sgd(store, { lr: o.lr, weightDecay: o.weightDecay }, partitions);
  if (o.optimizer === "adam") return new Adam(store, { ...ADAM_DEFAULTS, lr: o.lr, weightDecay: o.weightDecay }, partitions);
  throw new RangeError(`local optimizer must be adam or sgd, got '${o.optimizer}'`);
}

export interface ClientUpdate {
  /** Mean training loss over the local steps. */
  loss: number;
  /** Scored training slots (the client's sample count for weighted averaging). */
  samples: number;
  /** The group chosen at each block in the last local step (zeros without groups). */
  routes: Int32Array;
}

/** Probabilities of the validation and the test target of one user. */
export interface Prediction {
  valid: number;
  test: number;
  /** The group the validation window chose at each block (zeros without groups). */
  routes: Int32Array;
}

export class LocalTrainer {
  private readonly tape: Tape;
  private readonly optimizer: Adam | Sgd;
  /** The private partition's own optimiser, when the options give it one. */
  private readonly privateOpt: PrivateOptimizer | undefined;
  /**
   * Batches by (rows, window length): a client's windows are trimmed to its real history (the
   * model computes the same as with the padded window), which halves the work at the median
   * history length of KuaiSAR-R.
   */
  private readonly batches = new Map<number, BatchInputs>();
  /** Evaluation draws no random numbers, but the forward options need a generator. */
  private readonly evalRng = new Rng(0);

  constructor(
    readonly model: Recommender,
    readonly store: ParamStore,
    private readonly ds: Dataset,
    private readonly split: LeaveOneOut,
    private readonly opts: LocalOptions,
  ) {
    if (!(Number.isInteger(opts.localSteps) && opts.localSteps >= 1)) throw new RangeError(`LocalTrainer: localSteps must be a positive integer, got ${opts.localSteps}`);
    this.tape = new Tape(store.be, new Arena(store.be));
    if (opts.history !== undefined && opts.history !== "last" && opts.history !== "all") throw new RangeError(`LocalTrainer: history must be last or all, got '${opts.history}'`);
    if (opts.private) checkPrivateOptions(opts.private);
    if (opts.lrSchedule) checkLrSchedule(opts.lrSchedule);
    const separate = opts.private !== undefined && opts.private.optimizer !== "shared";
    this.optimizer = localOptimizer(store, opts, opts.private ? roundPartitions(opts.private) : PARTITIONS);
    this.privateOpt = separate ? new PrivateOptimizer(store, opts.private!) : undefined;
  }

  /** Values of a client's private optimiser state (0: none to keep between rounds). */
  get privateStateSize(): number {
    return this.privateOpt?.stateSize ?? 0;
  }

  /** Takes client c's private optimiser state from `states` (clients × privateStateSize). */
  loadPrivateState(states: Float32Array, c: number): void {
    this.privateOpt?.load(states, c);
  }

  /** Puts client c's private optimiser state back. */
  savePrivateState(states: Float32Array, c: number): void {
    this.privateOpt?.save(states, c);
  }

  /**
   * Trains user u's model in `round` (1-based: it sets the step size under a schedule) from the
   * values now in the store (a fresh optimiser state, METHOD.md; a private optimiser's state must
   * have been loaded), leaving the trained values there. `rng` drives dropout.
   */
  train(u: number, round: number, rng: Rng, groupShare?: Float64Array): ClientUpdate {
    const T = this.length(u, "train");
    const last = lastTarget(this.split, u, "train");
    const rows = this.opts.history === "all" ? Math.max(1, Math.ceil(last / T)) : 1;
    const b = this.batch(rows, T);
    // row r predicts the T targets before row r − 1's; every row has at least one input
    for (let r = 0; r < rows; r++) fillWindow(this.ds, u, last - r * T, b.windows, r, "all");
    b.users.fill(u);
    let samples = 0;
    for (const w of b.windows.weights) samples += w;
    this.optimizer.reset();
    const scale = lrMultiplier(this.opts.lrSchedule, round);
    this.optimizer.lrScale = scale;
    if (this.privateOpt) this.privateOpt.lrScale = scale;
    this.tape.recording = true;
    let loss = 0;
    let routes = new Int32Array(this.model.config.blocks);
    for (let s = 0; s < this.opts.localSteps; s++) {
      this.store.zeroGrads();
      const out = this.model.forward(this.tape, this.store, b, { train: true, rng, groupShare, oneUser: rows > 1 });
      loss += this.store.be.f[out.loss.offset]!;
      routes = out.routes.slice(0, this.model.config.blocks);
      this.tape.backward(out.loss);
      this.optimizer.step();
      this.privateOpt?.step();
      this.tape.reset();
    }
    // the private partition alone: the shared and group values the client returns stay as above
    for (let s = 0; s < (this.opts.private?.extraSteps ?? 0); s++) {
      this.store.zeroGrads();
      const out = this.model.forward(this.tape, this.store, b, { train: true, rng, groupShare, oneUser: rows > 1 });
      this.tape.backward(out.loss);
      this.privateOpt!.step();
      this.tape.reset();
    }
    return { loss: loss / this.opts.localSteps, samples, routes };
  }

  /** User u's validation and test click probabilities with the values now in the store. */
  predict(u: number): Prediction {
    // the test window is the validation window plus one impression: the longer of the two
    const b = this.batch(2, this.length(u, "test"));
    fillPhaseWindow(this.ds, this.split, u, "valid", b.windows, 0);
    fillPhaseWindow(this.ds, this.split, u, "test", b.windows, 1);
    b.users.fill(u);
    this.tape.recording = false;
    const out = this.model.forward(this.tape, this.store, b, { train: false, rng: this.evalRng });
    // windows are right-aligned: the target is scored at the last slot of each row
    const T = b.windows.maxlen;
    const f = this.store.be.f;
    const p = {
      valid: sigmoid(f[out.logits.offset + T - 1]!),
      test: sigmoid(f[out.logits.offset + 2 * T - 1]!),
      routes: out.routes.slice(0, this.model.config.blocks),
    };
    this.tape.reset();
    return p;
  }

  /** Slots of user u's window for a phase: its real inputs, at least 1, at most maxlen. */
  private length(u: number, phase: Phase): number {
    return Math.max(1, Math.min(lastTarget(this.split, u, phase), this.model.config.maxlen));
  }

  private batch(rows: number, T: number): BatchInputs {
    const key = rows * 65536 + T;
    let b = this.batches.get(key);
    if (!b) {
      b = { windows: allocWindows(rows, T), users: new Int32Array(rows), itemFeatures: this.ds.itemFeatures, userFeatures: this.ds.userFeatures };
      this.batches.set(key, b);
    }
    return b;
  }
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
