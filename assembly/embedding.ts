// Kernel family embedding: see src/kernels/kernels.ts for the contract.
