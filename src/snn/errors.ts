/** Errors of the SNN core: bad weights (state dicts, checkpoints) and bad offline inputs. */
export class WeightsError extends Error {
  override readonly name = 'WeightsError';
}
export class InputError extends Error {
  override readonly name = 'InputError';
}
