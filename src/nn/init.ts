// Initialisers the layers share, chosen as PyTorch's defaults for the layers the reference code
// uses (so that the reference hyper-parameters, e.g. Adam lr 0.1, keep their meaning).
import { constantInit, segmentsInit, uniformInit, type Init } from "../autograd/init.js";

/** Linear / Conv1d default: weights and biases uniform on ±1/√fanIn. */
export function fanInUniform(fanIn: number): Init {
  return uniformInit(1 / Math.sqrt(Math.max(fanIn, 1)));
}

/** LayerNorm [γ d | β d]: gain 1, bias 0. */
export function layerNormInit(d: number): Init {
  return segmentsInit([
    [d, constantInit(1)],
    [d, constantInit(0)],
  ]);
}
