// Kernel family elementwise: see src/kernels/kernels.ts for the contract.
