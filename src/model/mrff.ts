// MRFF's FFN half of block l (METHOD.md, steps 3-4): the group gate picks one of K distinct group
// experts per user, and the output is FFN_group[k](X) + FFN_user(X) — or, under the gate-weighted
// option, g_k·FFN_group[k](X) + FFN_user(X), which lets the task loss reach the gate. No residual:
// the reference's expert block returns the two experts' sum alone. The K experts sit in the group
// partition (one slice each, named by groupName), the user expert in the private one.
import { add } from "../autograd/ops/add.js";
import { scaleRows } from "../autograd/ops/scale.js";
import type { ParamSpec, ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import type { Tensor } from "../autograd/tensor.js";
import { FeedForward } from "../nn/feed-forward.js";
import { GroupExperts } from "../nn/group-experts.js";
import { chosenProbability, GroupGate } from "../nn/group-gate.js";
import { specsOf } from "../nn/module.js";
import type { BlockContext, BlockFfn, BlockOutput } from "./block-ffn.js";

export class GroupFfn implements BlockFfn {
  readonly specs: readonly ParamSpec[];
  private readonly gate: GroupGate;
  private readonly experts: GroupExperts;
  private readonly user: FeedForward;

  constructor(prefix: string, d: number, du: number, groups: number, groupName: (k: number) => string, readonly gateWeighted: boolean, gateClicks: boolean, userInit: "fan-in" | "zero") {
    this.gate = new GroupGate(`${prefix}.gate`, d, du, groups, gateClicks);
    this.experts = new GroupExperts(Array.from({ length: groups }, (_, k) => groupName(k)), d, d);
    this.user = new FeedForward(`${prefix}.user`, "private", d, d, userInit);
    this.specs = specsOf([this.gate, this.experts, this.user]);
  }

  forward(tp: Tape, ps: ParamStore, x: Tensor, ctx: BlockContext): BlockOutput {
    const gate = this.gate.forward(tp, ps, x, ctx.mask, ctx.eu, ctx.clicked, ctx.unclicked);
    if (ctx.oneUser) gate.routes.fill(gate.routes[0]!);
    let group = this.experts.forward(tp, ps, x, gate.routes, ctx.p, ctx.rng);
    if (this.gateWeighted) {
      const [B, T] = x.shape as [number, number];
      group = scaleRows(tp, group, chosenProbability(tp, gate, B, (b) => b, T));
    }
    return { h: add(tp, group, this.user.forward(tp, ps, x, ctx.p, ctx.rng)), gate };
  }
}
