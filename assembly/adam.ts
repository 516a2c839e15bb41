// Kernel family adam: see src/kernels/kernels.ts for the contract.
