// Kernel family layernorm: see src/kernels/kernels.ts for the contract.
