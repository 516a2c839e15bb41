// Kernel family ffn: see src/kernels/kernels.ts for the contract.
