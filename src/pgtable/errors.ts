/** Errors the kernel model returns as Linux would: an errno, not an architectural fault and not a misuse. */

export { ENOMEM } from '../cpa/types.js';

/** A kernel operation failed with an errno (the model's -ENOMEM...). The model is consistent afterwards. */
export class KernelError extends Error {
  constructor(
    /** Negative errno, e.g. -12 (ENOMEM). */
    readonly errno: number,
    message: string,
  ) {
    super(message);
    this.name = 'KernelError';
  }
}
