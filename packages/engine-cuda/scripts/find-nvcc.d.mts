/** nvcc as the addon build finds it: CUDACXX, then PATH, then CUDA_PATH / CUDA_HOME, then /usr/local/cuda. */
export function findNvcc(): string | undefined;
