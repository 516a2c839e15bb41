// A client's side of DP-FedAvg, in the worker right after local training: its update is turned into
// Δ = trained − global over the shared partition and the experts it chose, clipped to L2 norm C
// (jointly: the sensitivity analysis in dp-config.ts needs the whole contribution bounded), and in
// local mode noised by the client itself with N(0, σ²C²) on every shared and expert coordinate
// (unchosen experts included, so that its message does not reveal its routes).
import type { ParamStore } from "../autograd/params.js";
import { Rng } from "../util/rng.js";
import type { GroupLayout } from "./aggregate.js";
import type { DpConfig } from "./dp-config.js";
import { deriveSeed, Stream } from "./seed.js";

/** What a worker needs to know of the run's DP settings. */
export type DpClientOptions = Pick<DpConfig, "clip" | "noise" | "noiseMultiplier">;

export class DpClient {
  constructor(
    private readonly opts: DpClientOptions,
    private readonly store: ParamStore,
    private readonly layout: GroupLayout | null,
    private readonly seed: number,
  ) {}

  /** Whether the message covers every expert (local noise) or only the chosen ones. */
  get allExperts(): boolean {
    return this.opts.noise === "local";
  }

  /**
   * Replaces the trained values in the store's shared and group buffers by the client's clipped
   * (and in local mode noised) update; `global` is the backend offset of the round's
   * [shared | group] values. Returns the update's L2 norm before clipping.
   */
  prepare(global: number, client: number, round: number, routes: ArrayLike<number>): number {
    const be = this.store.be;
    const shared = this.store.buffer("shared");
    const group = this.store.buffer("group");
    be.axpy(shared.values, global, shared.size, -1);
    let sq = be.l2Norm(shared.values, shared.size) ** 2;
    const chosen = this.chosenCells(routes);
    const lay = this.layout;
    if (lay) {
      for (const cell of chosen) {
        const at = lay.start[cell]!;
        be.axpy(group.values + at, global + shared.size + at, lay.size[cell]!, -1);
        sq += be.l2Norm(group.values + at, lay.size[cell]!) ** 2;
      }
    }
    const norm = Math.sqrt(sq);
    if (!Number.isFinite(norm)) throw new Error(`DP: client ${client}'s update is not finite in round ${round}`);
    const factor = norm > this.opts.clip ? this.opts.clip / norm : 1;
    if (factor < 1) {
      be.scale(shared.values, shared.size, factor);
      if (lay) for (const cell of chosen) be.scale(group.values + lay.start[cell]!, lay.size[cell]!, factor);
    }
    if (this.opts.noise === "local") {
      if (lay) {
        // the experts it did not choose send noise alone
        for (let cell = 0; cell < lay.start.length; cell++) {
          if (!chosen.has(cell)) be.f.fill(0, group.values + lay.start[cell]!, group.values + lay.start[cell]! + lay.size[cell]!);
        }
      }
      const rng = new Rng(deriveSeed(this.seed, Stream.ClientNoise, round, client));
      const std = this.opts.noiseMultiplier * this.opts.clip;
      addGaussian(be.f, shared.values, shared.size, std, rng);
      addGaussian(be.f, group.values, group.size, std, rng);
    }
    return norm;
  }

  private chosenCells(routes: ArrayLike<number>): Set<number> {
    const lay = this.layout;
    const cells = new Set<number>();
    if (!lay) return cells;
    for (let l = 0; l < lay.blocks; l++) {
      const k = routes[l]!;
      if (!(Number.isInteger(k) && k >= 0 && k < lay.groups)) throw new RangeError(`DP: route ${k} at block ${l} is not a group in [0, ${lay.groups})`);
      cells.add(l * lay.groups + k);
    }
    return cells;
  }
}

/** Where standard normal draws come from: a seeded Rng (in-process runs), or WebCrypto on a device (secagg/noised-vector.ts). */
export interface NormalSource {
  normal(): number;
}

/** x[at .. at+n) += N(0, std²) draws, in order (the stream decides the numbers, nothing else). */
export function addGaussian(x: Float32Array | Float64Array, at: number, n: number, std: number, rng: NormalSource): void {
  for (let j = at; j < at + n; j++) x[j] += std * rng.normal();
}
