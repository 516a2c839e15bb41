// Client-side error feedback (Seide et al. 2014; Karimireddy et al. 2019): what compression drops
// from a partition this round is added to that partition's values next round, so nothing is lost
// for good, only delayed. One residual per partition name ("shared", "group.<l>.<k>", ...); an
// expert's residual waits, untouched, for the next round the client routes to that expert.
import { encodeWith } from "./frame.js";
import type { Codec, Frame } from "./types.js";

/** Where residuals live: a view of the caller's memory for (name, length), or null for none. */
export type ResidualStore = (name: string, length: number) => Float32Array | null;

export class ErrorFeedback {
  private readonly own = new Map<string, Float32Array>();
  private readonly store: ResidualStore;

  /**
   * @param store residual memory (e.g. views of a SharedArrayBuffer, so a worker can keep many
   *   clients' residuals); default: arrays this object allocates, zero at first use.
   */
  constructor(store?: ResidualStore) {
    this.store = store ?? ((name, length) => this.ownResidual(name, length));
  }

  /**
   * Encodes the frame, compressing each lossy partition's values + residual and keeping what the
   * receiver will not see as the new residual (an f32 partition sends its residual in full).
   */
  encode(frame: Frame, codec: Codec = {}): Uint8Array {
    return encodeWith(frame, codec, (p) => {
      const r = this.store(p.name, p.length);
      if (r && r.length !== p.length) throw new RangeError(`ErrorFeedback: residual of '${p.name}' holds ${r.length} values, the partition ${p.length}`);
      return r;
    });
  }

  /** The residual kept for a partition (own storage only), or undefined before its first use. */
  residual(name: string): Float32Array | undefined {
    return this.own.get(name);
  }

  private ownResidual(name: string, length: number): Float32Array {
    let r = this.own.get(name);
    if (!r) this.own.set(name, (r = new Float32Array(length)));
    return r;
  }
}
