// Kernel family compress: see src/kernels/kernels.ts for the contract.
