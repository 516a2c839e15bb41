// Kernel family loss: see src/kernels/kernels.ts for the contract.
