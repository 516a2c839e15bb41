// Kernel family attention: see src/kernels/kernels.ts for the contract.
