// autograd-lite: tensors as views into kernel memory, a tape of backward closures, parameters in
// flat per-partition buffers, and the differentiable ops the model is built from.
export { Tensor, sizeOf, type DType } from "./tensor.js";
export { Tape } from "./tape.js";
export { ParamStore, PARTITIONS, type ParamSpec, type Partition, type PartitionBuffer, type Slice } from "./params.js";
export { constantInit, normalInit, segmentsInit, uniformInit, type Init } from "./init.js";
export { add, addBroadcast } from "./ops/add.js";
export { attention, type AttentionOptions } from "./ops/attention.js";
export { bceLoss } from "./ops/bce.js";
export { concatCols, concatRows } from "./ops/concat.js";
export { dropout, dropoutMask } from "./ops/dropout.js";
export { embedding, selectRows } from "./ops/embedding.js";
export { ffn, type FfnOptions } from "./ops/ffn.js";
export { layerNorm } from "./ops/layernorm.js";
export { linear } from "./ops/linear.js";
export { maskRows } from "./ops/mask.js";
export { maskedMean } from "./ops/mean.js";
export { relu } from "./ops/relu.js";
export { scale, scaleRows } from "./ops/scale.js";
export { sigmoid } from "./ops/sigmoid.js";
export { softmaxRows } from "./ops/softmax.js";
export { reshape, sliceRows } from "./ops/view.js";
